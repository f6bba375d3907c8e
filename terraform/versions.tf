terraform {
  # 1.5: lifecycle preconditions, optional() attributes and the functions used here.
  required_version = ">= 1.5.0"

  required_providers {
    # 6.x: per-resource `region` (the CloudFront certificate lives in us-east-1 without a
    # second provider configuration).
    aws = {
      source  = "hashicorp/aws"
      version = ">= 6.0, < 7.0"
    }
    random = {
      source  = "hashicorp/random"
      version = ">= 3.5, < 4.0"
    }
    archive = {
      source  = "hashicorp/archive"
      version = ">= 2.4, < 3.0"
    }
  }
}
