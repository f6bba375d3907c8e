locals {
  create_efs   = var.efs_file_system_id == null
  create_layer = var.layer_arn == null
  use_url      = var.origin_type == "function_url"
  use_api      = var.origin_type == "api_gateway"
  alias_name   = "live"

  # layer/build.sh names the arm64 build's files *-arm64.zip (and .json)
  arch_suffix    = var.architecture == "arm64" ? "-arm64" : ""
  layer_zip_path = coalesce(var.layer_zip_path, "${path.module}/../dist/lambda-fpm-layer${local.arch_suffix}.zip")
  layer_arn      = local.create_layer ? aws_lambda_layer_version.this[0].arn : var.layer_arn
  # What layer/build.sh writes beside the zip: {"php": "8.4.28", "php_minor": "8.4", "debian": ...}
  layer_meta_path = "${trimsuffix(local.layer_zip_path, ".zip")}.json"
  layer_meta      = local.create_layer && fileexists(local.layer_meta_path) ? jsondecode(file(local.layer_meta_path)) : null

  # The ICU add-on unpacks after the main layer (it only adds /opt/share/icu), then the user's.
  create_icu_layer   = var.icu_full_data && var.icu_layer_arn == null
  icu_layer_zip_path = coalesce(var.icu_layer_zip_path, "${dirname(local.layer_zip_path)}/lambda-fpm-icu-full${local.arch_suffix}.zip")
  icu_layer_arn      = !var.icu_full_data ? null : local.create_icu_layer ? aws_lambda_layer_version.icu[0].arn : var.icu_layer_arn
  layers             = concat([local.layer_arn], var.icu_full_data ? [local.icu_layer_arn] : [], var.extra_layer_arns)

  efs_file_system_id  = local.create_efs ? aws_efs_file_system.this[0].id : var.efs_file_system_id
  efs_file_system_arn = local.create_efs ? aws_efs_file_system.this[0].arn : data.aws_efs_file_system.existing[0].arn
  efs_root_directory  = coalesce(var.efs_root_directory, "/roots/${var.name}")

  origin_secret = var.origin_secret != null ? var.origin_secret : random_password.origin_secret[0].result

  # Defaults var.environment may override: wp-cron off on page loads when the schedule runs it,
  # the canonical site URL pinned to the first custom domain (links in cron-sent mail), and
  # WordPress's outbound HTTP blocked when the subnets have no route to the internet, and opcache
  # primed at init for provisioned sandboxes (their init runs before anyone waits).
  environment_defaults = merge(
    var.cron_schedule_minutes == null ? {} : { WORDPRESS_DISABLE_WP_CRON = "1" },
    var.internet_access ? {} : { WORDPRESS_HTTP_BLOCK_EXTERNAL = "1" },
    var.provisioned_concurrency > 0 ? { LAMBDA_FPM_OPCACHE_PRIME = "on" } : {},
    var.code_mirror ? {} : { LAMBDA_FPM_CODE_MIRROR = "off" },
    var.internet_access || length(var.accessible_hosts) == 0 ? {} : { WORDPRESS_ACCESSIBLE_HOSTS = join(",", var.accessible_hosts) },
    length(var.domain_names) == 0 ? {} : { WORDPRESS_HOME = "https://${var.domain_names[0]}" },
    # defence in depth: CloudFront already answers only for its aliases, and the origin secret
    # vouches for the Host it forwards; the bridge refuses any other host before PHP runs
    length(var.domain_names) == 0 ? {} : { LAMBDA_FPM_ALLOWED_HOSTS = join(",", var.domain_names) },
  )

  # The bridge's configuration (see the contract in the repository README) and wp-config's
  # database settings. Wired values come last so var.environment cannot override them.
  function_environment = merge(local.environment_defaults, var.environment, {
    LAMBDA_FPM_DOCUMENT_ROOT        = var.mount_path
    LAMBDA_FPM_ORIGIN_SECRET        = local.origin_secret
    LAMBDA_FPM_ORIGIN_SECRET_HEADER = var.origin_secret_header
    LAMBDA_FPM_INVOKE_MODE          = var.invoke_mode
    LAMBDA_FPM_LOG_FORMAT           = var.log_format
    LAMBDA_FPM_METRICS              = var.metrics ? "on" : "off"
    LAMBDA_FPM_METRICS_NAMESPACE    = var.metrics_namespace
    LAMBDA_FPM_SERVER_TIMING        = var.server_timing
    WORDPRESS_DB_HOST               = var.db_host
    WORDPRESS_DB_NAME               = var.db_name
    WORDPRESS_DB_USER               = var.db_user
    WORDPRESS_DB_PASSWORD           = var.db_password
    WORDPRESS_TABLE_PREFIX          = var.db_table_prefix
  })

  # The event the scheduled invocation sends (the bridge's non-HTTP command envelope).
  cron_event = jsonencode({ lambda_fpm = { command = "cron" } })

  tags = merge(var.tags, { "lambda-fpm:site" = var.name })
}

resource "random_password" "origin_secret" {
  count = var.origin_secret == null ? 1 : 0

  length  = 48
  special = false
}
