# The minimal inputs: an existing VPC, private subnets and database. Everything else uses the
# module's defaults (layer from ../../../dist/lambda-fpm-layer.zip, new EFS, CloudFront over a
# Function URL, wp-cron every 5 minutes).

module "wordpress" {
  source = "../.."

  name        = "blog"
  vpc_id      = var.vpc_id
  subnet_ids  = var.private_subnet_ids
  db_host     = var.db_host
  db_password = var.db_password

  database_security_group_id = var.database_security_group_id
}

output "site_url" {
  description = "URL of the site."
  value       = module.wordpress.site_url
}

output "function_name" {
  description = "Lambda function name."
  value       = module.wordpress.function_name
}

output "function_url" {
  description = "Function URL (the origin; answers 403 without CloudFront's secret header)."
  value       = module.wordpress.function_url
}
