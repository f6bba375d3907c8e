###############################################################################
# Optional custom domain: ACM certificate (us-east-1, as CloudFront requires) validated
# through Route 53, and alias records pointing the names at CloudFront.
###############################################################################

locals {
  create_certificate = length(var.domain_names) > 0 && var.acm_certificate_arn == null && var.route53_zone_id != null
  create_records     = length(var.domain_names) > 0 && var.route53_zone_id != null

  alias_records = {
    for pair in setproduct(var.domain_names, ["A", "AAAA"]) : "${pair[0]} ${pair[1]}" => {
      name = pair[0]
      type = pair[1]
    }
    if local.create_records
  }
}

resource "aws_acm_certificate" "this" {
  count = local.create_certificate ? 1 : 0

  region                    = "us-east-1"
  domain_name               = var.domain_names[0]
  subject_alternative_names = slice(var.domain_names, 1, length(var.domain_names))
  validation_method         = "DNS"
  tags                      = local.tags

  lifecycle {
    create_before_destroy = true
  }
}

# Keyed by domain name (known at plan time). A name and its wildcard share one validation
# record, hence allow_overwrite.
resource "aws_route53_record" "certificate_validation" {
  for_each = local.create_certificate ? toset(var.domain_names) : toset([])

  zone_id         = var.route53_zone_id
  allow_overwrite = true
  ttl             = 300
  name            = one([for o in aws_acm_certificate.this[0].domain_validation_options : o.resource_record_name if o.domain_name == each.key])
  type            = one([for o in aws_acm_certificate.this[0].domain_validation_options : o.resource_record_type if o.domain_name == each.key])
  records         = [one([for o in aws_acm_certificate.this[0].domain_validation_options : o.resource_record_value if o.domain_name == each.key])]
}

resource "aws_acm_certificate_validation" "this" {
  count = local.create_certificate ? 1 : 0

  region                  = "us-east-1"
  certificate_arn         = aws_acm_certificate.this[0].arn
  validation_record_fqdns = [for r in aws_route53_record.certificate_validation : r.fqdn]
}

resource "aws_route53_record" "site" {
  for_each = local.alias_records

  zone_id = var.route53_zone_id
  name    = each.value.name
  type    = each.value.type

  alias {
    name                   = aws_cloudfront_distribution.this.domain_name
    zone_id                = aws_cloudfront_distribution.this.hosted_zone_id
    evaluate_target_health = false
  }
}
