###############################################################################
# Optional: run WordPress's due cron events every N minutes. EventBridge Scheduler invokes
# the `live` alias with the bridge's cron command, so the site can set DISABLE_WP_CRON and
# stop spawning wp-cron.php on page loads.
###############################################################################

resource "aws_scheduler_schedule" "cron" {
  count = var.cron_schedule_minutes == null ? 0 : 1

  name        = "${var.name}-wp-cron"
  description = "lambda-fpm ${var.name}: WordPress cron"
  state       = "ENABLED"

  schedule_expression = var.cron_schedule_minutes == 1 ? "rate(1 minute)" : "rate(${var.cron_schedule_minutes} minutes)"

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = aws_lambda_alias.live.arn
    role_arn = aws_iam_role.scheduler[0].arn
    input    = local.cron_event

    # A missed run is not retried: the next one picks up every due event anyway.
    retry_policy {
      maximum_retry_attempts       = 0
      maximum_event_age_in_seconds = 60 * var.cron_schedule_minutes
    }
  }
}
