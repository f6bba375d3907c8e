variable "region" {
  description = "AWS region of the VPC and the database."
  type        = string
}

variable "vpc_id" {
  description = "Existing VPC."
  type        = string
}

variable "private_subnet_ids" {
  description = "Existing private subnets with a NAT route, one per AZ."
  type        = list(string)
}

variable "db_host" {
  description = "Existing MySQL/MariaDB endpoint."
  type        = string
}

variable "db_password" {
  description = "Password of the wordpress database user (e.g. TF_VAR_db_password)."
  type        = string
  sensitive   = true
}

variable "database_security_group_id" {
  description = "Security group of the database; the module lets the function in on 3306."
  type        = string
  default     = null
}
