###############################################################################
# Layer: the PHP runtime and the bridge (/opt/bootstrap), built by layer/
###############################################################################

resource "aws_lambda_layer_version" "this" {
  count = local.create_layer ? 1 : 0

  layer_name               = "${var.name}-lambda-fpm"
  description              = local.layer_meta == null ? "lambda-fpm: bridge + PHP ${var.php_version} (php-fpm)" : "lambda-fpm: bridge + PHP ${local.layer_meta.php} (php-fpm, Debian ${local.layer_meta.debian} ${local.layer_meta.php_package})"
  filename                 = local.layer_zip_path
  source_code_hash         = fileexists(local.layer_zip_path) ? filebase64sha256(local.layer_zip_path) : null
  compatible_runtimes      = ["provided.al2023"]
  compatible_architectures = [var.architecture]

  lifecycle {
    precondition {
      condition     = fileexists(local.layer_zip_path)
      error_message = "The layer zip ${local.layer_zip_path} does not exist: build it first (see layer/ in the repository) or set layer_arn."
    }
    precondition {
      condition     = local.layer_meta == null || try(local.layer_meta.php_minor, "") == var.php_version
      error_message = "The layer zip ${local.layer_zip_path} carries PHP ${try(local.layer_meta.php, "?")} but php_version is \"${var.php_version}\": rebuild it with LAYER_PHP=${var.php_version} layer/build.sh, or set php_version to match."
    }
    precondition {
      # manifests written before arm64 builds name no architecture: those layers are x86_64
      condition     = local.layer_meta == null || try(local.layer_meta.architecture, "x86_64") == var.architecture
      error_message = "The layer zip ${local.layer_zip_path} is built for ${try(local.layer_meta.architecture, "x86_64")} but architecture is \"${var.architecture}\": a function cannot run another instruction set's binaries. Use the ${var.architecture} build (layer/build.sh writes dist/lambda-fpm-layer.zip for x86_64 and dist/lambda-fpm-layer-arm64.zip for arm64) or set architecture to match."
    }
  }
}

# Optional ICU add-on layer (layer/build.sh: dist/lambda-fpm-icu-full.zip): the ICU data the main
# layer leaves out (other languages' locale data, converters, dictionaries), as
# /opt/share/icu/icudt72l.dat, which the bridge points ICU at. Only for sites whose PHP code
# formats with intl in languages other than English; WordPress itself does not.
resource "aws_lambda_layer_version" "icu" {
  count = local.create_icu_layer ? 1 : 0

  layer_name               = "${var.name}-lambda-fpm-icu"
  description              = "lambda-fpm: ICU data for every language (add-on to the lambda-fpm layer)"
  filename                 = local.icu_layer_zip_path
  source_code_hash         = fileexists(local.icu_layer_zip_path) ? filebase64sha256(local.icu_layer_zip_path) : null
  compatible_runtimes      = ["provided.al2023"]
  compatible_architectures = [var.architecture]

  lifecycle {
    precondition {
      condition     = fileexists(local.icu_layer_zip_path)
      error_message = "The ICU add-on layer zip ${local.icu_layer_zip_path} does not exist: build it with layer/build.sh (it writes dist/lambda-fpm-icu-full.zip, arm64: dist/lambda-fpm-icu-full-arm64.zip, next to the layer), set icu_layer_arn, or set icu_full_data = false."
    }
  }
}

###############################################################################
# Function package: the runtime lives in the layer (Lambda runs /opt/bootstrap when the
# package has no bootstrap), so the package only carries optional php/conf.d/*.ini files.
###############################################################################

data "archive_file" "function" {
  count = var.function_zip_path == null ? 1 : 0

  type        = "zip"
  output_path = "${path.root}/.build/${var.name}-function.zip"

  source {
    filename = "php/conf.d/README"
    content  = "ini files in this directory are read by PHP (PHP_INI_SCAN_DIR); managed by Terraform (var.php_ini)\n"
  }

  dynamic "source" {
    for_each = var.php_ini
    content {
      filename = "php/conf.d/${source.key}"
      content  = source.value
    }
  }
}

locals {
  function_zip_path = var.function_zip_path != null ? var.function_zip_path : data.archive_file.function[0].output_path
  function_zip_hash = var.function_zip_path != null ? filebase64sha256(var.function_zip_path) : data.archive_file.function[0].output_base64sha256
}

###############################################################################
# Logs
###############################################################################

resource "aws_cloudwatch_log_group" "this" {
  name              = "/aws/lambda/${var.name}"
  retention_in_days = var.log_retention_days
  tags              = local.tags
}

###############################################################################
# Function, published version and the `live` alias
###############################################################################

resource "aws_security_group" "function" {
  name_prefix = "${var.name}-function-"
  description = "lambda-fpm function ${var.name}: outbound only (EFS, database, internet via NAT)"
  vpc_id      = var.vpc_id
  tags        = merge(local.tags, { Name = "${var.name}-function" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_egress_rule" "function_all" {
  security_group_id = aws_security_group.function.id
  description       = "EFS, database and outbound HTTPS (WordPress updates, plugins)"
  ip_protocol       = "-1"
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_ingress_rule" "database_from_function" {
  count = var.database_security_group_id == null ? 0 : 1

  security_group_id            = var.database_security_group_id
  description                  = "lambda-fpm function ${var.name} to the database"
  ip_protocol                  = "tcp"
  from_port                    = var.db_port
  to_port                      = var.db_port
  referenced_security_group_id = aws_security_group.function.id
}

resource "aws_lambda_function" "this" {
  function_name = var.name
  description   = "WordPress on lambda-fpm (${var.name})"
  role          = aws_iam_role.function.arn

  runtime       = "provided.al2023"
  handler       = "bootstrap"
  architectures = [var.architecture]
  layers        = local.layers

  filename         = local.function_zip_path
  source_code_hash = local.function_zip_hash

  memory_size                    = var.memory_size
  timeout                        = var.timeout
  reserved_concurrent_executions = var.reserved_concurrency

  # Every apply that changes code or configuration publishes a new version; the `live` alias
  # follows it. Rollback: point the alias at an older version (see README).
  publish = true

  ephemeral_storage {
    size = var.ephemeral_storage_size
  }

  environment {
    variables = local.function_environment
  }

  vpc_config {
    subnet_ids         = var.subnet_ids
    security_group_ids = [aws_security_group.function.id]
  }

  file_system_config {
    arn              = aws_efs_access_point.this.arn
    local_mount_path = var.mount_path
  }

  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.this.name
  }

  tags = merge(local.tags, { "lambda-fpm:php" = var.php_version })

  lifecycle {
    precondition {
      condition     = length(local.layers) <= 5
      error_message = "Lambda allows 5 layers per function: lambda-fpm, the ICU add-on (icu_full_data) and extra_layer_arns add up to ${length(local.layers)}."
    }
  }

  # The mount targets must exist before Lambda can attach the file system, and the role
  # needs its policies before the first invocation.
  depends_on = [
    aws_efs_mount_target.this,
    aws_iam_role_policy.function,
    aws_iam_role_policy_attachment.vpc_access,
  ]
}

resource "aws_lambda_alias" "live" {
  name             = local.alias_name
  description      = "What CloudFront and the schedule invoke; points at the latest published version"
  function_name    = aws_lambda_function.this.function_name
  function_version = aws_lambda_function.this.version
}

# Pre-initialised sandboxes on the live alias (they run init, opcache priming included, before
# any request reaches them).
resource "aws_lambda_provisioned_concurrency_config" "live" {
  count = var.provisioned_concurrency > 0 ? 1 : 0

  function_name                     = aws_lambda_function.this.function_name
  qualifier                         = aws_lambda_alias.live.name
  provisioned_concurrent_executions = var.provisioned_concurrency
}
