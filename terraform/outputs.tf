output "site_url" {
  description = "Public URL of the site: https:// and the first of domain_names, else the CloudFront domain."
  value       = "https://${length(var.domain_names) > 0 ? var.domain_names[0] : aws_cloudfront_distribution.this.domain_name}"
}

output "cloudfront_domain_name" {
  description = "Domain name of the CloudFront distribution (d123.cloudfront.net): the target of your DNS records if you manage DNS elsewhere."
  value       = aws_cloudfront_distribution.this.domain_name
}

output "cloudfront_distribution_id" {
  description = "CloudFront distribution id (for cache invalidations)."
  value       = aws_cloudfront_distribution.this.id
}

output "cloudfront_hosted_zone_id" {
  description = "Route 53 hosted zone id of CloudFront, for alias records managed outside this module."
  value       = aws_cloudfront_distribution.this.hosted_zone_id
}

output "function_name" {
  description = "Name of the Lambda function."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "ARN of the Lambda function (unqualified)."
  value       = aws_lambda_function.this.arn
}

output "function_version" {
  description = "Version published by the last apply (what the `live` alias points at)."
  value       = aws_lambda_function.this.version
}

output "function_alias_name" {
  description = "Name of the alias CloudFront and the schedule invoke (`live`). Use it as the qualifier of `aws lambda invoke`."
  value       = aws_lambda_alias.live.name
}

output "function_alias_arn" {
  description = "ARN of the `live` alias."
  value       = aws_lambda_alias.live.arn
}

output "function_url" {
  description = "Function URL of the `live` alias (origin of CloudFront; answers 403 without the origin secret). null with origin_type = api_gateway."
  value       = local.use_url ? aws_lambda_function_url.this[0].function_url : null
}

output "api_endpoint" {
  description = "API Gateway endpoint (origin of CloudFront). null with origin_type = function_url."
  value       = local.use_api ? aws_apigatewayv2_api.this[0].api_endpoint : null
}

output "function_security_group_id" {
  description = "Security group of the function: allow it on your database (and on an existing EFS file system)."
  value       = aws_security_group.function.id
}

output "function_role_arn" {
  description = "IAM role of the function."
  value       = aws_iam_role.function.arn
}

output "efs_file_system_id" {
  description = "EFS file system holding the site."
  value       = local.efs_file_system_id
}

output "efs_access_point_id" {
  description = "EFS access point the function mounts."
  value       = aws_efs_access_point.this.id
}

output "efs_access_point_arn" {
  description = "ARN of the EFS access point."
  value       = aws_efs_access_point.this.arn
}

output "efs_root_directory" {
  description = "Directory of the access point on the file system (the site's root)."
  value       = local.efs_root_directory
}

output "document_root" {
  description = "Where the site is mounted in the function (LAMBDA_FPM_DOCUMENT_ROOT)."
  value       = var.mount_path
}

output "layer_arn" {
  description = "ARN (with version) of the lambda-fpm layer the function uses."
  value       = local.layer_arn
}

output "log_group_name" {
  description = "CloudWatch log group of the function."
  value       = aws_cloudwatch_log_group.this.name
}

output "cron_schedule_arn" {
  description = "ARN of the EventBridge Scheduler schedule running wp-cron. null when disabled."
  value       = var.cron_schedule_minutes == null ? null : aws_scheduler_schedule.cron[0].arn
}

output "origin_secret" {
  description = "Secret header value CloudFront sends to the origin (to test the origin directly: curl -H \"x-origin-secret: $(terraform output -raw origin_secret)\" <function_url>)."
  value       = local.origin_secret
  sensitive   = true
}

output "php_version" {
  description = "PHP of the layer: the full version from the build's lambda-fpm-layer.json when the layer is built from a zip, else php_version."
  value       = local.layer_meta == null ? var.php_version : local.layer_meta.php
}

output "icu_layer_arn" {
  description = "ARN (with version) of the ICU add-on layer the function uses, or null (icu_full_data = false)."
  value       = local.icu_layer_arn
}

output "dashboard_name" {
  description = "The CloudWatch dashboard (null when dashboard = false): the bridge's latency, PHP time, errors, static cache, cold starts, with Lambda's and CloudFront's metrics."
  value       = var.dashboard ? aws_cloudwatch_dashboard.this[0].dashboard_name : null
}

output "alarm_names" {
  description = "The CloudWatch alarms created (empty when alarms or metrics are off)."
  value = compact(concat(
    aws_cloudwatch_metric_alarm.errors_5xx[*].alarm_name,
    aws_cloudwatch_metric_alarm.deadline_504[*].alarm_name,
    aws_cloudwatch_metric_alarm.php_fpm_restarts[*].alarm_name,
    aws_cloudwatch_metric_alarm.cold_start_share[*].alarm_name,
    aws_cloudwatch_metric_alarm.cron_failures[*].alarm_name,
  ))
}
