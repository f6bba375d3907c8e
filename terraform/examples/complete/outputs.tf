output "site_url" {
  description = "Open this once WordPress is installed on EFS."
  value       = module.wordpress.site_url
}

output "function_name" {
  description = "Lambda function (use with the `live` qualifier in `aws lambda invoke`)."
  value       = module.wordpress.function_name
}

output "function_alias_name" {
  description = "Alias that serves the site."
  value       = module.wordpress.function_alias_name
}

output "cloudfront_distribution_id" {
  description = "For cache invalidations."
  value       = module.wordpress.cloudfront_distribution_id
}

output "efs_file_system_id" {
  description = "EFS file system holding WordPress."
  value       = module.wordpress.efs_file_system_id
}

output "log_group_name" {
  description = "Function logs."
  value       = module.wordpress.log_group_name
}

output "db_address" {
  description = "RDS endpoint (private)."
  value       = aws_db_instance.this.address
}

output "function_url" {
  description = "Function URL (the origin; answers 403 without CloudFront's secret header)."
  value       = module.wordpress.function_url
}
