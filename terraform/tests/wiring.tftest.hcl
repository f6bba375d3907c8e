# Offline wiring tests: `terraform test` with mock providers (no credentials, no AWS).
# `command = apply` against mocks, so computed attributes (ARNs, versions, URLs) get the
# values below and the assertions compare real values, not unknowns.

mock_provider "aws" {
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_efs_file_system" {
    defaults = { arn = "arn:aws:elasticfilesystem:eu-west-1:123456789012:file-system/fs-0e1e2e3e4" }
  }
  mock_resource "aws_efs_file_system" {
    defaults = {
      id  = "fs-0new"
      arn = "arn:aws:elasticfilesystem:eu-west-1:123456789012:file-system/fs-0new"
    }
  }
  mock_resource "aws_efs_access_point" {
    defaults = {
      id  = "fsap-0site"
      arn = "arn:aws:elasticfilesystem:eu-west-1:123456789012:access-point/fsap-0site"
    }
  }
  mock_resource "aws_lambda_function" {
    defaults = {
      arn     = "arn:aws:lambda:eu-west-1:123456789012:function:site"
      version = "7"
    }
  }
  mock_resource "aws_lambda_alias" {
    defaults = {
      arn        = "arn:aws:lambda:eu-west-1:123456789012:function:site:live"
      invoke_arn = "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:123456789012:function:site:live/invocations"
    }
  }
  mock_resource "aws_lambda_layer_version" {
    defaults = { arn = "arn:aws:lambda:eu-west-1:123456789012:layer:site-lambda-fpm:3" }
  }
  mock_resource "aws_lambda_function_url" {
    defaults = { function_url = "https://abcdefghijklmnop.lambda-url.eu-west-1.on.aws/" }
  }
  mock_resource "aws_apigatewayv2_api" {
    defaults = {
      api_endpoint  = "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com"
      execution_arn = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5"
    }
  }
  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/site" }
  }
  mock_resource "aws_cloudfront_function" {
    defaults = { arn = "arn:aws:cloudfront::123456789012:function/site-forwarded-host" }
  }
  mock_resource "aws_cloudfront_cache_policy" {
    defaults = { id = "cache-policy-id" }
  }
  mock_data "aws_region" {
    defaults = { region = "eu-west-1" }
  }
  mock_resource "aws_cloudfront_distribution" {
    defaults = {
      id             = "E2DIST1234"
      domain_name    = "d1234abcd.cloudfront.net"
      hosted_zone_id = "Z2FDTNDATAQYW2"
    }
  }
  mock_resource "aws_acm_certificate" {
    defaults = {
      arn = "arn:aws:acm:us-east-1:123456789012:certificate/requested"
      domain_validation_options = [
        { domain_name = "www.example.org", resource_record_name = "_a.www.example.org.", resource_record_type = "CNAME", resource_record_value = "_x.acm-validations.aws." },
        { domain_name = "example.org", resource_record_name = "_b.example.org.", resource_record_type = "CNAME", resource_record_value = "_y.acm-validations.aws." },
      ]
    }
  }
  mock_resource "aws_acm_certificate_validation" {
    defaults = { certificate_arn = "arn:aws:acm:us-east-1:123456789012:certificate/requested" }
  }
}

mock_provider "random" {
  mock_resource "random_password" {
    defaults = { result = "generated-origin-secret-0123456789abcdefghijklmnopq" }
  }
}

mock_provider "archive" {}

variables {
  name           = "site"
  vpc_id         = "vpc-0123456789abcdef0"
  subnet_ids     = ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"]
  db_host        = "db.internal:3306"
  db_password    = "correct-horse-battery"
  layer_zip_path = "tests/fixtures/lambda-fpm-layer-arm64.zip"
}

run "function_url_defaults" {
  command = apply

  # --- function, layer, version + alias ---
  assert {
    condition     = aws_lambda_function.this.runtime == "provided.al2023" && aws_lambda_function.this.architectures == tolist(["arm64"]) && aws_lambda_function.this.memory_size == 1024
    error_message = "function must run on provided.al2023, arm64, 1024 MB by default"
  }
  assert {
    condition     = aws_lambda_function.this.layers[0] == aws_lambda_layer_version.this[0].arn && toset(aws_lambda_layer_version.this[0].compatible_runtimes) == toset(["provided.al2023"])
    error_message = "function must use the layer built from layer_zip_path"
  }
  assert {
    condition     = aws_lambda_layer_version.this[0].source_code_hash == filebase64sha256("tests/fixtures/lambda-fpm-layer-arm64.zip")
    error_message = "layer hash must follow the zip's content"
  }
  assert {
    condition     = aws_lambda_function.this.publish == true
    error_message = "every apply must publish a version"
  }
  assert {
    condition     = aws_lambda_alias.live.name == "live" && aws_lambda_alias.live.function_version == aws_lambda_function.this.version && aws_lambda_alias.live.function_version == "7"
    error_message = "alias `live` must point at the published version"
  }

  # --- EFS mount == bridge document root ---
  assert {
    condition     = aws_lambda_function.this.file_system_config[0].local_mount_path == "/mnt/wordpress"
    error_message = "default mount path must be /mnt/wordpress"
  }
  assert {
    condition     = aws_lambda_function.this.environment[0].variables["LAMBDA_FPM_DOCUMENT_ROOT"] == aws_lambda_function.this.file_system_config[0].local_mount_path
    error_message = "LAMBDA_FPM_DOCUMENT_ROOT must equal the EFS mount path"
  }
  assert {
    condition     = aws_lambda_function.this.file_system_config[0].arn == aws_efs_access_point.this.arn
    error_message = "function must mount the access point"
  }
  assert {
    condition     = aws_efs_access_point.this.root_directory[0].path == "/roots/site" && aws_efs_access_point.this.posix_user[0].uid == 1000 && aws_efs_access_point.this.root_directory[0].creation_info[0].owner_uid == 1000
    error_message = "access point must pin uid 1000 and root /roots/<name> created with that owner"
  }
  assert {
    condition     = aws_efs_file_system.this[0].encrypted == true && aws_efs_file_system.this[0].throughput_mode == "elastic"
    error_message = "file system must be encrypted with elastic throughput"
  }
  assert {
    condition     = length(aws_efs_mount_target.this) == 2 && alltrue([for i, m in aws_efs_mount_target.this : m.subnet_id == var.subnet_ids[i]])
    error_message = "one mount target per subnet"
  }
  assert {
    condition     = aws_vpc_security_group_ingress_rule.efs_from_function[0].from_port == 2049 && aws_vpc_security_group_ingress_rule.efs_from_function[0].referenced_security_group_id == aws_security_group.function.id
    error_message = "EFS must accept NFS from the function's security group only"
  }

  # --- origin secret: same value on CloudFront's origin and in the function ---
  assert {
    condition     = one(flatten([for o in aws_cloudfront_distribution.this.origin : [for h in o.custom_header : h.value if h.name == "x-origin-secret"]])) == aws_lambda_function.this.environment[0].variables["LAMBDA_FPM_ORIGIN_SECRET"]
    error_message = "CloudFront's x-origin-secret header must equal LAMBDA_FPM_ORIGIN_SECRET"
  }
  assert {
    condition     = aws_lambda_function.this.environment[0].variables["LAMBDA_FPM_ORIGIN_SECRET"] == random_password.origin_secret[0].result && random_password.origin_secret[0].length >= 32
    error_message = "without origin_secret the module must generate a long random secret"
  }
  assert {
    condition     = aws_lambda_function.this.environment[0].variables["LAMBDA_FPM_ORIGIN_SECRET_HEADER"] == "x-origin-secret"
    error_message = "LAMBDA_FPM_ORIGIN_SECRET_HEADER must be x-origin-secret"
  }

  # --- Function URL: auth NONE, invoke mode follows LAMBDA_FPM_INVOKE_MODE ---
  assert {
    condition     = aws_lambda_function_url.this[0].authorization_type == "NONE" && aws_lambda_function_url.this[0].qualifier == "live"
    error_message = "Function URL must be auth NONE on the live alias"
  }
  assert {
    condition     = aws_lambda_function_url.this[0].invoke_mode == "BUFFERED" && aws_lambda_function.this.environment[0].variables["LAMBDA_FPM_INVOKE_MODE"] == "buffered"
    error_message = "buffered: Function URL BUFFERED and LAMBDA_FPM_INVOKE_MODE=buffered"
  }
  assert {
    condition     = one([for o in aws_cloudfront_distribution.this.origin : o.domain_name]) == "abcdefghijklmnop.lambda-url.eu-west-1.on.aws"
    error_message = "CloudFront origin must be the Function URL's host name"
  }
  assert {
    condition     = aws_lambda_permission.function_url[0].action == "lambda:InvokeFunctionUrl" && aws_lambda_permission.function_url[0].function_url_auth_type == "NONE" && aws_lambda_permission.function_url[0].qualifier == "live"
    error_message = "public InvokeFunctionUrl permission must be limited to auth type NONE on the alias"
  }
  assert {
    condition = jsondecode(aws_cloudformation_stack.function_url_invoke[0].template_body).Resources.InvokeViaFunctionUrl.Properties == {
      Action                = "lambda:InvokeFunction"
      FunctionName          = "arn:aws:lambda:eu-west-1:123456789012:function:site:live"
      Principal             = "*"
      InvokedViaFunctionUrl = true
    }
    error_message = "public lambda:InvokeFunction must be conditioned on InvokedViaFunctionUrl and scoped to the alias"
  }

  # --- env for wp-config ---
  assert {
    condition = alltrue([
      aws_lambda_function.this.environment[0].variables["WORDPRESS_DB_HOST"] == "db.internal:3306",
      aws_lambda_function.this.environment[0].variables["WORDPRESS_DB_NAME"] == "wordpress",
      aws_lambda_function.this.environment[0].variables["WORDPRESS_DB_USER"] == "wordpress",
      aws_lambda_function.this.environment[0].variables["WORDPRESS_DB_PASSWORD"] == "correct-horse-battery",
      aws_lambda_function.this.environment[0].variables["WORDPRESS_TABLE_PREFIX"] == "wp_",
    ])
    error_message = "WORDPRESS_DB_* must be passed to the function"
  }

  # --- IAM: EFS only through the access point, logs only to the function's group ---
  assert {
    condition = one([for s in jsondecode(aws_iam_role_policy.function.policy).Statement : s if s.Sid == "EfsThroughAccessPointOnly"]) == {
      Sid       = "EfsThroughAccessPointOnly"
      Effect    = "Allow"
      Action    = ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"]
      Resource  = "arn:aws:elasticfilesystem:eu-west-1:123456789012:file-system/fs-0new"
      Condition = { StringEquals = { "elasticfilesystem:AccessPointArn" = "arn:aws:elasticfilesystem:eu-west-1:123456789012:access-point/fsap-0site" } }
    }
    error_message = "EFS permissions must be ClientMount/ClientWrite on this file system, only through the access point"
  }
  assert {
    condition     = alltrue([for s in jsondecode(aws_iam_role_policy.function.policy).Statement : s.Resource != "*" && !can(regex("\\*$", join(",", flatten([s.Action]))))])
    error_message = "no wildcard resources or actions in the function's inline policy"
  }
  assert {
    condition     = one([for s in jsondecode(aws_iam_role_policy.function.policy).Statement : s.Resource if s.Sid == "Logs"]) == "${aws_cloudwatch_log_group.this.arn}:*"
    error_message = "log permissions must be scoped to the function's log group"
  }
  assert {
    condition     = aws_cloudwatch_log_group.this.name == "/aws/lambda/site" && aws_cloudwatch_log_group.this.retention_in_days == 30 && aws_lambda_function.this.logging_config[0].log_group == aws_cloudwatch_log_group.this.name
    error_message = "log group /aws/lambda/<name> with 30 days retention, used by the function"
  }

  # --- CloudFront: host function, origin request policy, behaviours ---
  assert {
    condition     = aws_cloudfront_function.forwarded_host.runtime == "cloudfront-js-2.0" && strcontains(aws_cloudfront_function.forwarded_host.code, "request.headers['x-forwarded-host'] = { value: host }")
    error_message = "the viewer-request function must copy Host into X-Forwarded-Host"
  }
  assert {
    condition     = one(aws_cloudfront_distribution.this.default_cache_behavior[0].function_association).event_type == "viewer-request" && one(aws_cloudfront_distribution.this.default_cache_behavior[0].function_association).function_arn == aws_cloudfront_function.forwarded_host.arn
    error_message = "default behaviour must run the host function on viewer-request"
  }
  assert {
    condition = (
      aws_cloudfront_origin_request_policy.all_except_host.headers_config[0].header_behavior == "allExcept" &&
      contains(aws_cloudfront_origin_request_policy.all_except_host.headers_config[0].headers[0].items, "host") &&
      !contains(aws_cloudfront_origin_request_policy.all_except_host.headers_config[0].headers[0].items, "x-forwarded-host") &&
      aws_cloudfront_origin_request_policy.all_except_host.cookies_config[0].cookie_behavior == "all" &&
      aws_cloudfront_origin_request_policy.all_except_host.query_strings_config[0].query_string_behavior == "all"
    )
    error_message = "origin request policy must forward every header except Host, all cookies and query strings"
  }
  assert {
    condition     = [for b in aws_cloudfront_distribution.this.ordered_cache_behavior : b.path_pattern] == ["/wp-admin/*", "/wp-login.php", "/wp-json/*", "/wp-*.php", "/xmlrpc.php", "/wp-content/*", "/wp-includes/*"]
    error_message = "cache behaviours must be the PHP entry points first, then the static paths"
  }
  assert {
    condition = alltrue([for b in aws_cloudfront_distribution.this.ordered_cache_behavior :
      toset(b.allowed_methods) == toset(["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"]) &&
      b.cache_policy_id == aws_cloudfront_cache_policy.uncached.id &&
      b.origin_request_policy_id == aws_cloudfront_origin_request_policy.all_except_host.id &&
      length(b.function_association) == 1
    if contains(["/wp-admin/*", "/wp-login.php", "/wp-json/*"], b.path_pattern)])
    error_message = "wp-admin, wp-login.php and wp-json must be uncached, allow all methods and forward everything but Host"
  }
  assert {
    condition = alltrue([for b in aws_cloudfront_distribution.this.ordered_cache_behavior :
      toset(b.allowed_methods) == toset(["GET", "HEAD", "OPTIONS"]) && b.cache_policy_id == aws_cloudfront_cache_policy.static.id && b.compress
    if startswith(b.path_pattern, "/wp-content/") || startswith(b.path_pattern, "/wp-includes/")])
    error_message = "static paths must be cached, read-only and compressed"
  }
  assert {
    condition = (
      aws_cloudfront_cache_policy.static.parameters_in_cache_key_and_forwarded_to_origin[0].query_strings_config[0].query_string_behavior == "whitelist" &&
      aws_cloudfront_cache_policy.static.parameters_in_cache_key_and_forwarded_to_origin[0].query_strings_config[0].query_strings[0].items == tolist(["ver"]) &&
      aws_cloudfront_cache_policy.static.parameters_in_cache_key_and_forwarded_to_origin[0].cookies_config[0].cookie_behavior == "none"
    )
    error_message = "static cache key must be the path plus `ver`"
  }
  assert {
    condition     = aws_cloudfront_cache_policy.uncached.max_ttl == 0 && aws_cloudfront_cache_policy.uncached.default_ttl == 0
    error_message = "uncached policy must have zero TTLs"
  }
  assert {
    condition = (
      toset(aws_cloudfront_distribution.this.default_cache_behavior[0].allowed_methods) == toset(["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"]) &&
      aws_cloudfront_distribution.this.default_cache_behavior[0].cache_policy_id == aws_cloudfront_cache_policy.pages.id &&
      aws_cloudfront_distribution.this.default_cache_behavior[0].viewer_protocol_policy == "redirect-to-https" &&
      aws_cloudfront_distribution.this.default_cache_behavior[0].compress &&
      aws_cloudfront_cache_policy.pages.default_ttl == 0 &&
      aws_cloudfront_cache_policy.pages.parameters_in_cache_key_and_forwarded_to_origin[0].cookies_config[0].cookie_behavior == "allExcept" &&
      aws_cloudfront_cache_policy.pages.parameters_in_cache_key_and_forwarded_to_origin[0].headers_config[0].headers[0].items == tolist(["x-forwarded-host"])
    )
    error_message = "pages: all methods, HTTPS redirect, origin Cache-Control decides (default TTL 0), cache varies on cookies and viewer host"
  }
  assert {
    condition     = alltrue([for e in aws_cloudfront_distribution.this.custom_error_response : e.error_caching_min_ttl == 0 if e.error_code >= 500])
    error_message = "5xx must not be cached"
  }
  assert {
    condition     = aws_cloudfront_distribution.this.viewer_certificate[0].cloudfront_default_certificate == true && length(aws_acm_certificate.this) == 0 && length(aws_route53_record.site) == 0
    error_message = "without domain_names the default certificate is used and no DNS is touched"
  }

  # --- scheduled wp-cron ---
  assert {
    condition     = aws_scheduler_schedule.cron[0].target[0].arn == aws_lambda_alias.live.arn && jsondecode(aws_scheduler_schedule.cron[0].target[0].input) == { lambda_fpm = { command = "cron" } }
    error_message = "the schedule must invoke the live alias with the cron command"
  }
  assert {
    condition     = aws_scheduler_schedule.cron[0].schedule_expression == "rate(5 minutes)" && jsondecode(aws_iam_role_policy.scheduler[0].policy).Statement[0].Resource == aws_lambda_alias.live.arn
    error_message = "every 5 minutes, with a role allowed to invoke only the alias"
  }

  assert {
    condition     = aws_lambda_function.this.environment[0].variables["WORDPRESS_DISABLE_WP_CRON"] == "1" && !contains(keys(aws_lambda_function.this.environment[0].variables), "WORDPRESS_HOME") && !contains(keys(aws_lambda_function.this.environment[0].variables), "LAMBDA_FPM_ALLOWED_HOSTS")
    error_message = "with the schedule, wp-cron on page loads must be disabled; no WORDPRESS_HOME without a domain"
  }

  # --- outputs ---
  assert {
    condition     = output.site_url == "https://d1234abcd.cloudfront.net" && output.document_root == "/mnt/wordpress" && output.function_url == "https://abcdefghijklmnop.lambda-url.eu-west-1.on.aws/"
    error_message = "outputs must report the site URL, document root and Function URL"
  }
}

run "streaming_custom_mount_and_secret" {
  command = apply

  variables {
    invoke_mode   = "response_stream"
    mount_path    = "/mnt/site"
    origin_secret = "a-secret-chosen-by-the-operator-0123456789"
    environment = {
      LAMBDA_FPM_DOCUMENT_ROOT = "/tmp/not-allowed"
      WORDPRESS_AUTH_KEY       = "salt"
    }
    cron_schedule_minutes = 1
  }

  assert {
    condition     = aws_lambda_function_url.this[0].invoke_mode == "RESPONSE_STREAM" && aws_lambda_function.this.environment[0].variables["LAMBDA_FPM_INVOKE_MODE"] == "response_stream"
    error_message = "response_stream: Function URL RESPONSE_STREAM and LAMBDA_FPM_INVOKE_MODE=response_stream"
  }
  assert {
    condition     = aws_lambda_function.this.file_system_config[0].local_mount_path == "/mnt/site" && aws_lambda_function.this.environment[0].variables["LAMBDA_FPM_DOCUMENT_ROOT"] == "/mnt/site"
    error_message = "mount path and document root must move together (extra env cannot override it)"
  }
  assert {
    condition     = aws_lambda_function.this.environment[0].variables["WORDPRESS_AUTH_KEY"] == "salt"
    error_message = "extra environment variables must reach the function"
  }
  assert {
    condition = (
      one(flatten([for o in aws_cloudfront_distribution.this.origin : [for h in o.custom_header : h.value if h.name == "x-origin-secret"]])) == "a-secret-chosen-by-the-operator-0123456789" &&
      aws_lambda_function.this.environment[0].variables["LAMBDA_FPM_ORIGIN_SECRET"] == "a-secret-chosen-by-the-operator-0123456789" &&
      length(random_password.origin_secret) == 0
    )
    error_message = "a given origin_secret must be used on both sides, and none generated"
  }
  assert {
    condition     = aws_scheduler_schedule.cron[0].schedule_expression == "rate(1 minute)"
    error_message = "a 1-minute schedule must use the singular unit"
  }
}

run "api_gateway_origin" {
  command = apply

  variables {
    origin_type = "api_gateway"
  }

  assert {
    condition     = length(aws_lambda_function_url.this) == 0 && length(aws_cloudformation_stack.function_url_invoke) == 0 && length(aws_lambda_permission.function_url) == 0
    error_message = "no Function URL (nor its public permissions) with API Gateway"
  }
  assert {
    condition     = aws_apigatewayv2_integration.this[0].integration_uri == aws_lambda_alias.live.invoke_arn && aws_apigatewayv2_integration.this[0].payload_format_version == "2.0"
    error_message = "API Gateway must invoke the live alias with payload 2.0"
  }
  assert {
    condition     = aws_lambda_permission.api_gateway[0].principal == "apigateway.amazonaws.com" && aws_lambda_permission.api_gateway[0].qualifier == "live" && aws_lambda_permission.api_gateway[0].source_arn == "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/*/*"
    error_message = "only this API may invoke the alias"
  }
  assert {
    condition     = one([for o in aws_cloudfront_distribution.this.origin : o.domain_name]) == "a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com"
    error_message = "CloudFront origin must be the API's host name"
  }
  assert {
    condition     = one(flatten([for o in aws_cloudfront_distribution.this.origin : [for h in o.custom_header : h.value if h.name == "x-origin-secret"]])) == aws_lambda_function.this.environment[0].variables["LAMBDA_FPM_ORIGIN_SECRET"]
    error_message = "the origin secret protects the API origin too"
  }
}

run "api_gateway_cannot_stream" {
  command = plan

  variables {
    origin_type = "api_gateway"
    invoke_mode = "response_stream"
  }

  expect_failures = [aws_apigatewayv2_api.this]
}

run "existing_file_system_and_layer" {
  command = apply

  variables {
    efs_file_system_id = "fs-0e1e2e3e4"
    layer_arn          = "arn:aws:lambda:eu-west-1:123456789012:layer:lambda-fpm:12"
    efs_root_directory = "/sites/blog"
    layer_zip_path     = "does/not/exist.zip"
  }

  assert {
    condition     = length(aws_efs_file_system.this) == 0 && length(aws_efs_mount_target.this) == 0 && aws_efs_access_point.this.file_system_id == "fs-0e1e2e3e4"
    error_message = "an existing file system gets an access point, no new file system or mount targets"
  }
  assert {
    condition     = aws_efs_access_point.this.root_directory[0].path == "/sites/blog"
    error_message = "efs_root_directory must be the access point's root"
  }
  assert {
    condition     = one([for s in jsondecode(aws_iam_role_policy.function.policy).Statement : s.Resource if s.Sid == "EfsThroughAccessPointOnly"]) == "arn:aws:elasticfilesystem:eu-west-1:123456789012:file-system/fs-0e1e2e3e4"
    error_message = "IAM must target the existing file system"
  }
  assert {
    condition     = length(aws_lambda_layer_version.this) == 0 && aws_lambda_function.this.layers == tolist(["arn:aws:lambda:eu-west-1:123456789012:layer:lambda-fpm:12"])
    error_message = "layer_arn must be used as is, and no layer built"
  }
}

run "missing_layer_zip_is_reported" {
  command = plan

  variables {
    layer_zip_path = "does/not/exist.zip"
  }

  expect_failures = [aws_lambda_layer_version.this]
}

run "custom_domain_with_route53" {
  command = apply

  variables {
    domain_names    = ["www.example.org", "example.org"]
    route53_zone_id = "Z0123456789ABCDEFGHIJ"
  }

  assert {
    condition     = aws_acm_certificate.this[0].region == "us-east-1" && aws_acm_certificate.this[0].domain_name == "www.example.org" && toset(aws_acm_certificate.this[0].subject_alternative_names) == toset(["example.org"])
    error_message = "the certificate must be requested in us-east-1 for every name"
  }
  assert {
    condition     = aws_route53_record.certificate_validation["example.org"].name == "_b.example.org." && toset(aws_route53_record.certificate_validation["www.example.org"].records) == toset(["_x.acm-validations.aws."])
    error_message = "one validation record per name, from the certificate's validation options"
  }
  assert {
    condition = (
      aws_cloudfront_distribution.this.viewer_certificate[0].acm_certificate_arn == "arn:aws:acm:us-east-1:123456789012:certificate/requested" &&
      aws_cloudfront_distribution.this.viewer_certificate[0].ssl_support_method == "sni-only" &&
      toset(aws_cloudfront_distribution.this.aliases) == toset(["www.example.org", "example.org"])
    )
    error_message = "the distribution must serve the aliases with the validated certificate"
  }
  assert {
    condition     = length(aws_route53_record.site) == 4 && aws_route53_record.site["example.org AAAA"].alias[0].name == "d1234abcd.cloudfront.net"
    error_message = "A and AAAA alias records for each name"
  }
  assert {
    condition     = aws_lambda_function.this.environment[0].variables["WORDPRESS_HOME"] == "https://www.example.org"
    error_message = "the first custom domain must pin WORDPRESS_HOME"
  }
  assert {
    condition     = aws_lambda_function.this.environment[0].variables["LAMBDA_FPM_ALLOWED_HOSTS"] == "www.example.org,example.org"
    error_message = "the custom domains must be the bridge's allowed hosts"
  }
  assert {
    condition     = output.site_url == "https://www.example.org"
    error_message = "the site URL must be the first domain name"
  }
}

run "domain_without_certificate_fails" {
  command = plan

  variables {
    domain_names = ["www.example.org"]
  }

  expect_failures = [aws_cloudfront_distribution.this]
}

run "cron_disabled" {
  command = apply

  variables {
    cron_schedule_minutes = null
  }

  assert {
    condition     = length(aws_scheduler_schedule.cron) == 0 && length(aws_iam_role.scheduler) == 0 && output.cron_schedule_arn == null && !contains(keys(aws_lambda_function.this.environment[0].variables), "WORDPRESS_DISABLE_WP_CRON")
    error_message = "no schedule and no scheduler role when cron is disabled"
  }
}

run "no_internet_blocks_wordpress_outbound_http" {
  command = apply

  variables {
    internet_access  = false
    accessible_hosts = ["*.wordpress.org", "api.example.com"]
  }

  assert {
    condition     = aws_lambda_function.this.environment[0].variables["WORDPRESS_HTTP_BLOCK_EXTERNAL"] == "1" && aws_lambda_function.this.environment[0].variables["WORDPRESS_ACCESSIBLE_HOSTS"] == "*.wordpress.org,api.example.com"
    error_message = "without internet access WordPress's outbound HTTP must be blocked (fail fast), with the allowed hosts passed on"
  }
}

run "provisioned_concurrency_primes_opcache" {
  command = apply

  variables {
    provisioned_concurrency = 2
  }

  assert {
    condition     = aws_lambda_provisioned_concurrency_config.live[0].provisioned_concurrent_executions == 2 && aws_lambda_provisioned_concurrency_config.live[0].qualifier == "live" && aws_lambda_function.this.environment[0].variables["LAMBDA_FPM_OPCACHE_PRIME"] == "on"
    error_message = "provisioned sandboxes sit on the live alias and prime opcache at init"
  }
}

run "internet_access_by_default" {
  command = apply

  assert {
    condition     = !contains(keys(aws_lambda_function.this.environment[0].variables), "WORDPRESS_HTTP_BLOCK_EXTERNAL") && !contains(keys(aws_lambda_function.this.environment[0].variables), "WORDPRESS_ACCESSIBLE_HOSTS") && length(aws_lambda_provisioned_concurrency_config.live) == 0 && !contains(keys(aws_lambda_function.this.environment[0].variables), "LAMBDA_FPM_OPCACHE_PRIME")
    error_message = "by default WordPress's outbound HTTP is left alone, and there is no provisioned concurrency nor priming"
  }
}

run "install_archives_from_s3" {
  command = apply

  variables {
    install_source_s3_object_arns = ["arn:aws:s3:::my-artifacts/wordpress/*"]
  }

  assert {
    condition = anytrue([
      for s in jsondecode(aws_iam_role_policy.function.policy).Statement :
      s.Sid == "InstallArchivesFromS3" && s.Action == ["s3:GetObject"] && s.Resource == ["arn:aws:s3:::my-artifacts/wordpress/*"]
    ])
    error_message = "the install command's S3 objects must be readable, and only those"
  }
}

run "no_s3_access_by_default" {
  command = apply

  assert {
    condition     = !strcontains(aws_iam_role_policy.function.policy, "s3:")
    error_message = "without install_source_s3_object_arns the function must have no S3 permission"
  }
}

run "icu_addon_layer_from_the_zip_beside_the_layer" {
  command = apply

  variables {
    icu_full_data    = true
    extra_layer_arns = ["arn:aws:lambda:eu-west-1:123456789012:layer:extensions:4"]
  }

  override_resource {
    target = aws_lambda_layer_version.icu
    values = { arn = "arn:aws:lambda:eu-west-1:123456789012:layer:site-lambda-fpm-icu:2" }
  }

  assert {
    condition     = aws_lambda_function.this.layers == tolist([aws_lambda_layer_version.this[0].arn, "arn:aws:lambda:eu-west-1:123456789012:layer:site-lambda-fpm-icu:2", "arn:aws:lambda:eu-west-1:123456789012:layer:extensions:4"])
    error_message = "the ICU add-on must come right after the lambda-fpm layer, before extra_layer_arns"
  }
  assert {
    condition     = aws_lambda_layer_version.icu[0].filename == "tests/fixtures/lambda-fpm-icu-full-arm64.zip" && aws_lambda_layer_version.icu[0].source_code_hash == filebase64sha256("tests/fixtures/lambda-fpm-icu-full-arm64.zip")
    error_message = "the ICU add-on zip defaults to lambda-fpm-icu-full.zip beside the layer zip, and its hash must follow the content"
  }
  assert {
    condition     = toset(aws_lambda_layer_version.icu[0].compatible_runtimes) == toset(["provided.al2023"]) && toset(aws_lambda_layer_version.icu[0].compatible_architectures) == toset(["arm64"]) && aws_lambda_layer_version.icu[0].layer_name == "site-lambda-fpm-icu"
    error_message = "the ICU add-on layer must match the function's runtime and architecture"
  }
  assert {
    condition     = output.icu_layer_arn == "arn:aws:lambda:eu-west-1:123456789012:layer:site-lambda-fpm-icu:2"
    error_message = "icu_layer_arn output must name the add-on in use"
  }
}

run "icu_addon_layer_by_arn" {
  command = apply

  variables {
    icu_full_data      = true
    icu_layer_arn      = "arn:aws:lambda:eu-west-1:123456789012:layer:lambda-fpm-icu:5"
    icu_layer_zip_path = "does/not/exist.zip"
  }

  assert {
    condition     = length(aws_lambda_layer_version.icu) == 0 && aws_lambda_function.this.layers == tolist([aws_lambda_layer_version.this[0].arn, "arn:aws:lambda:eu-west-1:123456789012:layer:lambda-fpm-icu:5"])
    error_message = "icu_layer_arn must be used as is, and no ICU layer built"
  }
}

run "icu_addon_off_by_default_even_with_an_arn" {
  command = apply

  variables {
    icu_layer_arn = "arn:aws:lambda:eu-west-1:123456789012:layer:lambda-fpm-icu:5"
  }

  assert {
    condition     = length(aws_lambda_layer_version.icu) == 0 && length(aws_lambda_function.this.layers) == 1 && output.icu_layer_arn == null
    error_message = "without icu_full_data the function gets the lambda-fpm layer only"
  }
}

run "missing_icu_zip_is_reported" {
  command = plan

  variables {
    icu_full_data      = true
    icu_layer_zip_path = "does/not/exist.zip"
  }

  expect_failures = [aws_lambda_layer_version.icu]
}

run "more_than_five_layers_are_refused" {
  command = plan

  variables {
    icu_full_data = true
    extra_layer_arns = [
      "arn:aws:lambda:eu-west-1:123456789012:layer:a:1",
      "arn:aws:lambda:eu-west-1:123456789012:layer:b:1",
      "arn:aws:lambda:eu-west-1:123456789012:layer:c:1",
      "arn:aws:lambda:eu-west-1:123456789012:layer:d:1",
    ]
  }

  expect_failures = [aws_lambda_function.this]
}

run "layer_php_version_is_visible" {
  command = apply

  assert {
    condition     = aws_lambda_layer_version.this[0].description == "lambda-fpm: bridge + PHP 8.4.28 (php-fpm, Debian trixie 8.4.28-1~deb13u1)"
    error_message = "the layer's description must name the PHP of the build (from lambda-fpm-layer.json beside the zip)"
  }
  assert {
    condition     = output.php_version == "8.4.28" && aws_lambda_function.this.tags["lambda-fpm:php"] == "8.4"
    error_message = "the PHP version must be in the outputs and the function's tags"
  }
}

run "php_version_must_match_the_layer_build" {
  command = plan

  variables {
    php_version = "8.2"
  }

  expect_failures = [aws_lambda_layer_version.this]
}

run "code_mirror_on_by_default_and_switchable_off" {
  command = apply

  assert {
    condition     = !contains(keys(aws_lambda_function.this.environment[0].variables), "LAMBDA_FPM_CODE_MIRROR")
    error_message = "the code mirror is the bridge's default: no variable by default"
  }
}

run "code_mirror_off" {
  command = apply

  variables {
    code_mirror = false
  }

  assert {
    condition     = aws_lambda_function.this.environment[0].variables["LAMBDA_FPM_CODE_MIRROR"] == "off"
    error_message = "code_mirror = false must turn the mirror off"
  }
}

# Monitoring (#20): the bridge gets the metrics settings; the dashboard reads the bridge's
# metrics under the same namespace and function name, Lambda's and CloudFront's; each alarm
# watches the bridge's metric for this function and notifies the topic.
run "monitoring_defaults" {
  command = apply

  variables {
    cron_schedule_minutes = 5
    alarm_topic_arn       = "arn:aws:sns:eu-west-1:123456789012:site-alarms"
  }

  assert {
    condition = (aws_lambda_function.this.environment[0].variables["LAMBDA_FPM_METRICS"] == "on"
      && aws_lambda_function.this.environment[0].variables["LAMBDA_FPM_METRICS_NAMESPACE"] == "lambda-fpm"
    && aws_lambda_function.this.environment[0].variables["LAMBDA_FPM_SERVER_TIMING"] == "log")
    error_message = "the bridge must get LAMBDA_FPM_METRICS=on, the namespace and LAMBDA_FPM_SERVER_TIMING=log"
  }
  assert {
    condition     = aws_cloudwatch_dashboard.this[0].dashboard_name == "lambda-fpm-site"
    error_message = "the dashboard is named after the site"
  }
  assert {
    condition = (alltrue([for w in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets : alltrue([for m in w.properties.metrics : try(m[0] != "lambda-fpm" || (m[2] == "function" && m[3] == "site"), true)])])
    && sum([for w in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets : length([for m in w.properties.metrics : m if try(m[0] == "lambda-fpm", false)])]) >= 12)
    error_message = "every bridge metric on the dashboard (at least 12 rows) is this function's"
  }
  assert {
    condition     = length([for w in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets : w if anytrue([for m in w.properties.metrics : try(m[0] == "AWS/CloudFront" && m[3] == "E2DIST1234", false)])]) == 1
    error_message = "the dashboard shows this distribution's CloudFront metrics"
  }
  assert {
    condition     = length([for w in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets : w if anytrue([for m in w.properties.metrics : try(m[0] == "AWS/Lambda" && m[3] == "site", false)])]) == 1
    error_message = "the dashboard shows this function's Lambda metrics"
  }
  assert {
    condition     = length(output.alarm_names) == 5
    error_message = "five alarms with the cron schedule: 5xx rate, deadline 504, php-fpm restarts, cold-start share, cron failures"
  }
  assert {
    condition = alltrue([for a in [aws_cloudwatch_metric_alarm.deadline_504[0], aws_cloudwatch_metric_alarm.php_fpm_restarts[0], aws_cloudwatch_metric_alarm.cron_failures[0]] :
    a.namespace == "lambda-fpm" && a.dimensions["function"] == "site" && tolist(a.alarm_actions) == tolist(["arn:aws:sns:eu-west-1:123456789012:site-alarms"])])
    error_message = "the single-metric alarms watch this function's bridge metrics and notify the topic"
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.deadline_504[0].metric_name == "deadline_504" && aws_cloudwatch_metric_alarm.deadline_504[0].threshold == 0
    error_message = "any deadline 504 alarms"
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.cron_failures[0].metric_name == "command_failed" && aws_cloudwatch_metric_alarm.cron_failures[0].dimensions["command"] == "cron"
    error_message = "the cron alarm watches failed cron commands"
  }
  assert {
    condition     = toset([for q in aws_cloudwatch_metric_alarm.errors_5xx[0].metric_query : "${q.metric[0].namespace} ${q.metric[0].metric_name} ${q.metric[0].dimensions["function"]}" if length(q.metric) > 0]) == toset(["lambda-fpm errors_5xx site", "lambda-fpm requests site"])
    error_message = "the 5xx rate is this function's errors_5xx over its requests"
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.errors_5xx[0].threshold == 2 && aws_cloudwatch_metric_alarm.cold_start_share[0].threshold == 20
    error_message = "default thresholds: 2 % 5xx, 20 % cold starts"
  }
}

run "monitoring_off" {
  command = apply

  variables {
    metrics       = false
    dashboard     = false
    server_timing = "on"
  }

  assert {
    condition     = aws_lambda_function.this.environment[0].variables["LAMBDA_FPM_METRICS"] == "off" && aws_lambda_function.this.environment[0].variables["LAMBDA_FPM_SERVER_TIMING"] == "on"
    error_message = "metrics off and Server-Timing for viewers reach the bridge"
  }
  assert {
    condition     = length(aws_cloudwatch_dashboard.this) == 0 && length(output.alarm_names) == 0 && output.dashboard_name == null
    error_message = "no dashboard, and no alarms without metrics"
  }
}

run "alarms_without_a_topic_notify_no_one_and_no_cron_alarm_without_a_schedule" {
  command = apply

  variables {
    cron_schedule_minutes = null
  }

  assert {
    condition     = length(aws_cloudwatch_metric_alarm.deadline_504[0].alarm_actions) == 0 && length(aws_cloudwatch_metric_alarm.cron_failures) == 0 && length(output.alarm_names) == 4
    error_message = "without a topic the alarms have no actions; without a schedule there is no cron alarm"
  }
}

# Architecture (#22): arm64 by default, x86_64 with its own build; the layer's manifest must agree.
run "x86_64_uses_the_x86_64_build" {
  command = apply

  variables {
    architecture   = "x86_64"
    layer_zip_path = "tests/fixtures/lambda-fpm-layer.zip"
    icu_full_data  = true
  }

  assert {
    condition     = aws_lambda_function.this.architectures == tolist(["x86_64"]) && toset(aws_lambda_layer_version.this[0].compatible_architectures) == toset(["x86_64"]) && toset(aws_lambda_layer_version.icu[0].compatible_architectures) == toset(["x86_64"])
    error_message = "architecture = x86_64 must reach the function and both layers"
  }
  assert {
    condition     = aws_lambda_layer_version.this[0].source_code_hash == filebase64sha256("tests/fixtures/lambda-fpm-layer.zip") && aws_lambda_layer_version.icu[0].filename == "tests/fixtures/lambda-fpm-icu-full.zip"
    error_message = "x86_64 takes the x86_64 layer and its ICU add-on (no -arm64 suffix)"
  }
}

run "layer_of_another_architecture_is_refused" {
  command = plan

  variables {
    architecture = "x86_64" # the file-level layer is the arm64 build
  }

  expect_failures = [aws_lambda_layer_version.this]
}

run "arm64_function_refuses_an_x86_64_layer" {
  command = plan

  variables {
    layer_zip_path = "tests/fixtures/lambda-fpm-layer.zip"
  }

  expect_failures = [aws_lambda_layer_version.this]
}

run "default_layer_paths_follow_the_architecture" {
  command = plan

  # published layers: no zip is read, so none need exist; the paths are still what the module would read
  variables {
    layer_zip_path = null
    layer_arn      = "arn:aws:lambda:eu-west-1:123456789012:layer:lambda-fpm:12"
    icu_full_data  = true
    icu_layer_arn  = "arn:aws:lambda:eu-west-1:123456789012:layer:lambda-fpm-icu:3"
  }

  assert {
    condition     = endswith(local.layer_zip_path, "/dist/lambda-fpm-layer-arm64.zip") && endswith(local.icu_layer_zip_path, "/dist/lambda-fpm-icu-full-arm64.zip")
    error_message = "arm64 must default to layer/build.sh's -arm64 files"
  }
}
