###############################################################################
# CloudFront: the site's front door
###############################################################################

locals {
  all_methods    = ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"]
  cached_methods = ["GET", "HEAD"]
  origin_id      = "lambda-fpm"

  # Order matters: CloudFront takes the first pattern that matches. PHP entry points come
  # first, so /wp-content/**/*.php (plugin endpoints) is never cached and accepts POST.
  uncached_paths = ["/wp-admin/*", "/wp-login.php", "/wp-json/*", "/wp-*.php", "/xmlrpc.php"]
  static_paths   = ["/wp-content/*", "/wp-includes/*"]

  ordered_behaviors = concat(
    [for p in local.uncached_paths : {
      path_pattern             = p
      allowed_methods          = local.all_methods
      cache_policy_id          = aws_cloudfront_cache_policy.uncached.id
      origin_request_policy_id = aws_cloudfront_origin_request_policy.all_except_host.id
      host_function            = true
    }],
    [for p in local.static_paths : {
      path_pattern             = p
      allowed_methods          = ["GET", "HEAD", "OPTIONS"]
      cache_policy_id          = aws_cloudfront_cache_policy.static.id
      origin_request_policy_id = null # only the cache key (the `ver` query string) goes to the origin
      host_function            = false
    }],
  )

  certificate_arn = var.acm_certificate_arn != null ? var.acm_certificate_arn : (
    local.create_certificate ? aws_acm_certificate_validation.this[0].certificate_arn : null
  )
}

# Copies the viewer's Host into X-Forwarded-Host (the origin needs its own Host header).
resource "aws_cloudfront_function" "forwarded_host" {
  name    = "${var.name}-forwarded-host"
  comment = "lambda-fpm ${var.name}: Host -> X-Forwarded-Host"
  runtime = "cloudfront-js-2.0"
  code    = file("${path.module}/functions/viewer-request.js")
  publish = true
}

# Everything the viewer sent except Host, which must stay the origin's own name (Function URLs
# and API Gateway reject a foreign Host). Also dropped: forwarding headers a client could forge
# that the bridge believes on requests carrying the origin secret (the scheme is then https,
# the bridge's default behind CloudFront). X-Forwarded-Host is rewritten by the function above.
resource "aws_cloudfront_origin_request_policy" "all_except_host" {
  name    = "${var.name}-all-except-host"
  comment = "lambda-fpm ${var.name}: all viewer headers except Host, all cookies and query strings"

  headers_config {
    header_behavior = "allExcept"
    headers {
      items = ["host", "x-forwarded-proto", "cloudfront-forwarded-proto", "cloudfront-viewer-address"]
    }
  }
  cookies_config {
    cookie_behavior = "all"
  }
  query_strings_config {
    query_string_behavior = "all"
  }
}

# /wp-content/*, /wp-includes/*: cached, `ver` (WordPress's cache buster) in the key.
resource "aws_cloudfront_cache_policy" "static" {
  name        = "${var.name}-static"
  comment     = "lambda-fpm ${var.name}: WordPress static files"
  min_ttl     = var.static_cache_ttl.min
  default_ttl = var.static_cache_ttl.default
  max_ttl     = var.static_cache_ttl.max

  parameters_in_cache_key_and_forwarded_to_origin {
    enable_accept_encoding_gzip   = true
    enable_accept_encoding_brotli = true

    headers_config {
      header_behavior = "none"
    }
    cookies_config {
      cookie_behavior = "none"
    }
    query_strings_config {
      query_string_behavior = "whitelist"
      query_strings {
        items = ["ver"]
      }
    }
  }
}

# Pages: cached only when the origin says so (default TTL 0), varying on the viewer's host,
# the query string and every cookie except analytics ones (so WordPress's login, comment and
# post-password cookies split the cache).
resource "aws_cloudfront_cache_policy" "pages" {
  name        = "${var.name}-pages"
  comment     = "lambda-fpm ${var.name}: pages, origin Cache-Control decides"
  min_ttl     = 0
  default_ttl = 0
  max_ttl     = var.page_cache_max_ttl

  parameters_in_cache_key_and_forwarded_to_origin {
    enable_accept_encoding_gzip   = true
    enable_accept_encoding_brotli = true

    headers_config {
      header_behavior = "whitelist"
      headers {
        items = ["x-forwarded-host"]
      }
    }
    cookies_config {
      cookie_behavior = "allExcept"
      cookies {
        items = var.page_cache_ignored_cookies
      }
    }
    query_strings_config {
      query_string_behavior = "all"
    }
  }
}

# wp-admin, wp-login.php, REST API, PHP entry points: never cached.
resource "aws_cloudfront_cache_policy" "uncached" {
  name        = "${var.name}-uncached"
  comment     = "lambda-fpm ${var.name}: caching disabled"
  min_ttl     = 0
  default_ttl = 0
  max_ttl     = 0

  parameters_in_cache_key_and_forwarded_to_origin {
    enable_accept_encoding_gzip   = false
    enable_accept_encoding_brotli = false

    headers_config {
      header_behavior = "none"
    }
    cookies_config {
      cookie_behavior = "none"
    }
    query_strings_config {
      query_string_behavior = "none"
    }
  }
}

resource "aws_cloudfront_distribution" "this" {
  enabled         = true
  comment         = "lambda-fpm ${var.name}"
  aliases         = var.domain_names
  price_class     = var.price_class
  http_version    = "http2and3"
  is_ipv6_enabled = true
  web_acl_id      = var.web_acl_id
  tags            = local.tags

  origin {
    origin_id   = local.origin_id
    domain_name = local.origin_domain

    custom_header {
      name  = var.origin_secret_header
      value = local.origin_secret
    }

    custom_origin_config {
      http_port                = 80
      https_port               = 443
      origin_protocol_policy   = "https-only"
      origin_ssl_protocols     = ["TLSv1.2"]
      origin_read_timeout      = min(var.timeout + 1, 60)
      origin_keepalive_timeout = 5
    }
  }

  default_cache_behavior {
    target_origin_id         = local.origin_id
    viewer_protocol_policy   = "redirect-to-https"
    allowed_methods          = local.all_methods
    cached_methods           = local.cached_methods
    compress                 = true
    cache_policy_id          = aws_cloudfront_cache_policy.pages.id
    origin_request_policy_id = aws_cloudfront_origin_request_policy.all_except_host.id

    function_association {
      event_type   = "viewer-request"
      function_arn = aws_cloudfront_function.forwarded_host.arn
    }
  }

  dynamic "ordered_cache_behavior" {
    for_each = local.ordered_behaviors
    iterator = b
    content {
      path_pattern             = b.value.path_pattern
      target_origin_id         = local.origin_id
      viewer_protocol_policy   = "redirect-to-https"
      allowed_methods          = b.value.allowed_methods
      cached_methods           = local.cached_methods
      compress                 = true
      cache_policy_id          = b.value.cache_policy_id
      origin_request_policy_id = b.value.origin_request_policy_id

      dynamic "function_association" {
        for_each = b.value.host_function ? [aws_cloudfront_function.forwarded_host.arn] : []
        content {
          event_type   = "viewer-request"
          function_arn = function_association.value
        }
      }
    }
  }

  dynamic "custom_error_response" {
    for_each = var.error_caching_min_ttl
    content {
      error_code            = tonumber(custom_error_response.key)
      error_caching_min_ttl = custom_error_response.value
    }
  }

  restrictions {
    geo_restriction {
      restriction_type = "none"
    }
  }

  viewer_certificate {
    cloudfront_default_certificate = local.certificate_arn == null
    acm_certificate_arn            = local.certificate_arn
    ssl_support_method             = local.certificate_arn == null ? null : "sni-only"
    minimum_protocol_version       = local.certificate_arn == null ? "TLSv1" : "TLSv1.2_2021"
  }

  lifecycle {
    precondition {
      condition     = length(var.domain_names) == 0 || var.acm_certificate_arn != null || var.route53_zone_id != null
      error_message = "domain_names needs a certificate: set acm_certificate_arn (us-east-1) or route53_zone_id (the module then requests and validates one)."
    }
  }
}
