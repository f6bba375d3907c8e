variable "region" {
  description = "AWS region to deploy to (CloudFront and its certificate are global / us-east-1 regardless)."
  type        = string
  default     = "eu-west-1"
}

variable "name" {
  description = "Name of the site (function name, resource prefix)."
  type        = string
  default     = "wordpress"
}

variable "vpc_cidr" {
  description = "CIDR of the VPC created for the site."
  type        = string
  default     = "10.42.0.0/16"

  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0))
    error_message = "vpc_cidr must be a valid IPv4 CIDR block."
  }
}

variable "db_instance_class" {
  description = "RDS instance class of the MySQL database."
  type        = string
  default     = "db.t4g.micro"
}

variable "domain_names" {
  description = "Optional custom host names (need route53_zone_id)."
  type        = list(string)
  default     = []
}

variable "route53_zone_id" {
  description = "Optional Route 53 zone for domain_names (certificate + DNS records)."
  type        = string
  default     = null
}

variable "layer_zip_path" {
  description = "Layer zip built by layer/; null means the repository's dist/lambda-fpm-layer-arm64.zip (the module's default architecture, arm64)."
  type        = string
  default     = null
}

variable "icu_full_data" {
  description = "Attach the ICU add-on layer (dist/lambda-fpm-icu-full-arm64.zip, written by the same layer/build.sh): intl in every language."
  type        = bool
  default     = false
}
