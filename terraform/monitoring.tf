###############################################################################
# Monitoring: the bridge's own metrics (Embedded Metric Format lines in the function's log,
# src/metrics.rs in the repository), Lambda's and CloudFront's, on one dashboard, and alarms
# on what a site owner must hear about. Metric names and dimensions are the bridge's:
#   requests, latency, php_time, bytes_out, errors_4xx, errors_5xx, deadline_504,
#   static_cache_hits, static_cache_misses   by function (and function + route + status)
#   cold_starts, init_time                   by function (and function + seed)
#   php_fpm_restarts                         by function
#   command_ok, command_failed, command_time by function + command
###############################################################################

data "aws_region" "current" {}

locals {
  ns       = var.metrics_namespace
  fn       = var.name
  region   = data.aws_region.current.region
  alarm_on = var.metrics && var.alarms
  actions  = var.alarm_topic_arn == null ? [] : [var.alarm_topic_arn]

  # [namespace, metric, dimension, value, ...] rows for dashboard widgets
  by_function = { for m in ["requests", "latency", "php_time", "bytes_out", "errors_4xx", "errors_5xx", "deadline_504", "static_cache_hits", "static_cache_misses", "cold_starts", "init_time", "php_fpm_restarts"] :
    m => [local.ns, m, "function", local.fn]
  }

  dashboard_widgets = [
    {
      type = "metric", x = 0, y = 0, width = 12, height = 6
      properties = {
        title = "Latency in the bridge (ms)", region = local.region, view = "timeSeries", period = 60
        metrics = [
          concat(local.by_function.latency, [{ stat = "p50", label = "p50" }]),
          concat(local.by_function.latency, [{ stat = "p99", label = "p99" }]),
          concat(local.by_function.php_time, [{ stat = "p50", label = "PHP p50" }]),
          concat(local.by_function.php_time, [{ stat = "p99", label = "PHP p99" }]),
        ]
      }
    },
    {
      type = "metric", x = 12, y = 0, width = 12, height = 6
      properties = {
        title = "Requests and errors", region = local.region, view = "timeSeries", period = 60, stat = "Sum"
        metrics = [
          local.by_function.requests,
          local.by_function.errors_4xx,
          local.by_function.errors_5xx,
          concat(local.by_function.deadline_504, [{ label = "504 at the deadline" }]),
        ]
      }
    },
    {
      type = "metric", x = 0, y = 6, width = 8, height = 6
      properties = {
        title = "Static cache hit ratio (%)", region = local.region, view = "timeSeries", period = 300
        metrics = [
          concat(local.by_function.static_cache_hits, [{ id = "h", stat = "Sum", visible = false }]),
          concat(local.by_function.static_cache_misses, [{ id = "m", stat = "Sum", visible = false }]),
          [{ expression = "100 * h / (h + m)", label = "hit ratio", id = "ratio" }],
        ]
      }
    },
    {
      type = "metric", x = 8, y = 6, width = 8, height = 6
      properties = {
        title = "Cold starts, init time (ms), php-fpm restarts", region = local.region, view = "timeSeries", period = 300
        metrics = [
          concat(local.by_function.cold_starts, [{ stat = "Sum" }]),
          concat(local.by_function.init_time, [{ stat = "Average", yAxis = "right" }]),
          concat(local.by_function.php_fpm_restarts, [{ stat = "Sum" }]),
        ]
      }
    },
    {
      type = "metric", x = 16, y = 6, width = 8, height = 6
      properties = {
        title   = "Bytes out", region = local.region, view = "timeSeries", period = 300, stat = "Sum"
        metrics = [local.by_function.bytes_out]
      }
    },
    {
      type = "metric", x = 0, y = 12, width = 12, height = 6
      properties = {
        title = "Lambda", region = local.region, view = "timeSeries", period = 60
        metrics = [
          ["AWS/Lambda", "Invocations", "FunctionName", local.fn, { stat = "Sum" }],
          ["AWS/Lambda", "Errors", "FunctionName", local.fn, { stat = "Sum" }],
          ["AWS/Lambda", "Throttles", "FunctionName", local.fn, { stat = "Sum" }],
          ["AWS/Lambda", "Duration", "FunctionName", local.fn, { stat = "p99", yAxis = "right" }],
          ["AWS/Lambda", "ConcurrentExecutions", "FunctionName", local.fn, { stat = "Maximum" }],
        ]
      }
    },
    {
      # CloudFront's metrics live in us-east-1, whatever the function's region
      type = "metric", x = 12, y = 12, width = 12, height = 6
      properties = {
        title = "CloudFront", region = "us-east-1", view = "timeSeries", period = 300
        metrics = [
          ["AWS/CloudFront", "Requests", "DistributionId", aws_cloudfront_distribution.this.id, "Region", "Global", { stat = "Sum" }],
          ["AWS/CloudFront", "5xxErrorRate", "DistributionId", aws_cloudfront_distribution.this.id, "Region", "Global", { stat = "Average", yAxis = "right" }],
          ["AWS/CloudFront", "4xxErrorRate", "DistributionId", aws_cloudfront_distribution.this.id, "Region", "Global", { stat = "Average", yAxis = "right" }],
        ]
      }
    },
  ]
}

resource "aws_cloudwatch_dashboard" "this" {
  count = var.dashboard ? 1 : 0

  dashboard_name = "lambda-fpm-${var.name}"
  dashboard_body = jsonencode({ widgets = local.dashboard_widgets })
}

# More than alarm_5xx_rate_percent of the requests answered 5xx, two 5-minute periods running.
resource "aws_cloudwatch_metric_alarm" "errors_5xx" {
  count = local.alarm_on ? 1 : 0

  alarm_name          = "lambda-fpm-${var.name}-5xx-rate"
  alarm_description   = "More than ${var.alarm_5xx_rate_percent} % of requests got a 5xx from the bridge (PHP fatal errors, php-fpm down, deadlines, oversized responses): see the function's log, lines with status >= 500 are WARN."
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.alarm_5xx_rate_percent
  evaluation_periods  = 2
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions
  tags                = local.tags

  metric_query {
    id          = "rate"
    expression  = "100 * FILL(e, 0) / r"
    label       = "5xx %"
    return_data = true
  }
  dynamic "metric_query" {
    for_each = { e = "errors_5xx", r = "requests" }
    content {
      id = metric_query.key
      metric {
        namespace   = local.ns
        metric_name = metric_query.value
        dimensions  = { function = local.fn }
        period      = 300
        stat        = "Sum"
      }
    }
  }
}

# Any request answered 504 because PHP ran into the invocation's deadline.
resource "aws_cloudwatch_metric_alarm" "deadline_504" {
  count = local.alarm_on ? 1 : 0

  alarm_name          = "lambda-fpm-${var.name}-deadline-504"
  alarm_description   = "PHP ran into the invocation's deadline and the bridge answered 504 (a slow plugin, the database, EFS burst credits): raise timeout or find the slow request in the log (status 504)."
  namespace           = local.ns
  metric_name         = "deadline_504"
  dimensions          = { function = local.fn }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions
  tags                = local.tags
}

# php-fpm restarted more than 3 times in 15 minutes (deadlines, dead workers, code changes).
resource "aws_cloudwatch_metric_alarm" "php_fpm_restarts" {
  count = local.alarm_on ? 1 : 0

  alarm_name          = "lambda-fpm-${var.name}-php-fpm-restarts"
  alarm_description   = "php-fpm restarted more than 3 times in 15 minutes: each restart drops opcache's compiled scripts. Look for 504s and 'php-fpm exited' in the log."
  namespace           = local.ns
  metric_name         = "php_fpm_restarts"
  dimensions          = { function = local.fn }
  statistic           = "Sum"
  period              = 900
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 3
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions
  tags                = local.tags
}

# More than alarm_cold_start_percent of an hour's requests were a sandbox's first.
resource "aws_cloudwatch_metric_alarm" "cold_start_share" {
  count = local.alarm_on ? 1 : 0

  alarm_name          = "lambda-fpm-${var.name}-cold-start-share"
  alarm_description   = "More than ${var.alarm_cold_start_percent} % of requests in an hour waited for a cold start: consider provisioned_concurrency, or check init_time on the dashboard."
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.alarm_cold_start_percent
  evaluation_periods  = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions
  tags                = local.tags

  metric_query {
    id          = "share"
    expression  = "100 * FILL(c, 0) / r"
    label       = "cold start %"
    return_data = true
  }
  dynamic "metric_query" {
    for_each = { c = "cold_starts", r = "requests" }
    content {
      id = metric_query.key
      metric {
        namespace   = local.ns
        metric_name = metric_query.value
        dimensions  = { function = local.fn }
        period      = 3600
        stat        = "Sum"
      }
    }
  }
}

# The scheduled cron command failed (only with the schedule: cron_schedule_minutes).
resource "aws_cloudwatch_metric_alarm" "cron_failures" {
  count = local.alarm_on && var.cron_schedule_minutes != null ? 1 : 0

  alarm_name          = "lambda-fpm-${var.name}-cron-failures"
  alarm_description   = "The scheduled wp-cron run failed: scheduled posts, updates and mail wait. The log's 'command failed' line (target command) says why."
  namespace           = local.ns
  metric_name         = "command_failed"
  dimensions          = { function = local.fn, command = "cron" }
  statistic           = "Sum"
  period              = 3600
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions
  tags                = local.tags
}
