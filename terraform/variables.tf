###############################################################################
# General
###############################################################################

variable "name" {
  description = "Name of the site. Used for the function, the layer, the EFS access point root (/roots/<name>) and as a prefix for every other resource."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,38}[a-z0-9]$", var.name))
    error_message = "name must be 2-40 characters of lower-case letters, digits and hyphens, starting with a letter and not ending with a hyphen."
  }
}

variable "tags" {
  description = "Tags added to every resource that supports them."
  type        = map(string)
  default     = {}
}

###############################################################################
# Network and database (inputs: this module creates neither the VPC nor the DB)
###############################################################################

variable "vpc_id" {
  description = "VPC the function and the EFS mount targets live in."
  type        = string

  validation {
    condition     = can(regex("^vpc-[0-9a-f]+$", var.vpc_id))
    error_message = "vpc_id must look like vpc-0123456789abcdef0."
  }
}

variable "subnet_ids" {
  description = "Private subnets (one per Availability Zone, at least two recommended) for the function and, unless efs_file_system_id is set, one EFS mount target each. They need a route to a NAT gateway if WordPress must reach the internet (updates, plugins, oEmbed)."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 1 && alltrue([for s in var.subnet_ids : can(regex("^subnet-[0-9a-f]+$", s))])
    error_message = "subnet_ids must hold at least one subnet id (subnet-...)."
  }
}

variable "internet_access" {
  description = "Whether subnet_ids route to the internet (a NAT gateway). false sets WORDPRESS_HTTP_BLOCK_EXTERNAL=1 for the shipped wp-config.php: WordPress's calls to api.wordpress.org and other hosts then fail at once instead of waiting for their timeouts (wp-login.php alone would take ~6 s per view: it asks for the translation list and does not cache the failure). Updates and plugin installs from wp-admin need internet access."
  type        = bool
  default     = true
}

variable "accessible_hosts" {
  description = "With internet_access = false: hosts WordPress may still call (WP_ACCESSIBLE_HOSTS; wildcards like *.example.com), e.g. reached through VPC endpoints or a proxy."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for h in var.accessible_hosts : can(regex("^(\\*\\.)?[A-Za-z0-9.-]+$", h))])
    error_message = "accessible_hosts must be host names, optionally starting with *. (no scheme, port or path)."
  }
}

variable "db_host" {
  description = "MySQL/MariaDB endpoint WordPress connects to, as WORDPRESS_DB_HOST (host or host:port)."
  type        = string

  validation {
    condition     = length(var.db_host) > 0
    error_message = "db_host must not be empty."
  }
}

variable "db_name" {
  description = "Database name (WORDPRESS_DB_NAME)."
  type        = string
  default     = "wordpress"

  validation {
    condition     = can(regex("^[A-Za-z0-9_$]{1,64}$", var.db_name))
    error_message = "db_name must be 1-64 characters of letters, digits, _ or $."
  }
}

variable "db_user" {
  description = "Database user (WORDPRESS_DB_USER)."
  type        = string
  default     = "wordpress"

  validation {
    condition     = length(var.db_user) >= 1 && length(var.db_user) <= 80
    error_message = "db_user must be 1-80 characters."
  }
}

variable "db_password" {
  description = "Database password (WORDPRESS_DB_PASSWORD). Stored in the function's environment (encrypted at rest by Lambda) and in the Terraform state: protect both."
  type        = string
  sensitive   = true

  validation {
    condition     = length(var.db_password) >= 8
    error_message = "db_password must be at least 8 characters."
  }
}

variable "db_table_prefix" {
  description = "WordPress table prefix (WORDPRESS_TABLE_PREFIX)."
  type        = string
  default     = "wp_"

  validation {
    condition     = can(regex("^[A-Za-z0-9_]+$", var.db_table_prefix))
    error_message = "db_table_prefix may contain only letters, digits and underscores."
  }
}

variable "database_security_group_id" {
  description = "Security group of the database. When set, the module adds an ingress rule to it allowing db_port from the function's security group. Leave null to manage database access yourself (allow the output function_security_group_id)."
  type        = string
  default     = null

  validation {
    condition     = var.database_security_group_id == null || can(regex("^sg-[0-9a-f]+$", var.database_security_group_id))
    error_message = "database_security_group_id must be null or a security group id (sg-...)."
  }
}

variable "db_port" {
  description = "Database port, used only for the ingress rule added when database_security_group_id is set."
  type        = number
  default     = 3306

  validation {
    condition     = var.db_port >= 1 && var.db_port <= 65535 && floor(var.db_port) == var.db_port
    error_message = "db_port must be an integer between 1 and 65535."
  }
}

###############################################################################
# Layer and function
###############################################################################

variable "layer_zip_path" {
  description = "Path of the layer zip built by `layer/` (relative to the directory terraform runs in, or absolute). null means <this module>/../dist/lambda-fpm-layer.zip, i.e. the repository's dist/. Ignored when layer_arn is set."
  type        = string
  default     = null

  validation {
    condition     = var.layer_zip_path == null || can(regex("\\.zip$", var.layer_zip_path))
    error_message = "layer_zip_path must name a .zip file."
  }
}

variable "php_version" {
  description = "PHP minor version of the layer (\"8.4\": Debian 13 trixie's php8.4, the default of layer/build.sh; \"8.2\": Debian 12 bookworm's php8.2, security support ends 31 Dec 2026). Shown in the layer's description and the function's tags; when the layer is built from layer_zip_path, the build's lambda-fpm-layer.json beside the zip must report the same version (a mismatch fails the plan). To move a site from 8.2 to 8.4: rebuild with LAYER_PHP=8.4, set this to \"8.4\", apply (a new layer version and function version; the live alias moves), and roll back by applying with 8.2 again."
  type        = string
  default     = "8.4"

  validation {
    condition     = contains(["8.4", "8.2"], var.php_version)
    error_message = "php_version must be \"8.4\" or \"8.2\" (the versions layer/build.sh builds: LAYER_PHP)."
  }
}

variable "layer_arn" {
  description = "ARN (with version) of an already published lambda-fpm layer. When set, no layer is created from layer_zip_path."
  type        = string
  default     = null

  validation {
    condition     = var.layer_arn == null || can(regex("^arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:[0-9]{12}:layer:[A-Za-z0-9_-]+:[0-9]+$", var.layer_arn))
    error_message = "layer_arn must be a versioned layer ARN: arn:aws:lambda:<region>:<account>:layer:<name>:<version>."
  }
}

variable "icu_full_data" {
  description = "Attach the ICU add-on layer (dist/lambda-fpm-icu-full.zip, 25.5 MiB unzipped): intl (NumberFormatter, IntlDateFormatter, Collator, Locale display names, UConverter tables, CJK/Thai word breaks) in every language. Without it intl has English and root data only; WordPress itself does not use intl for formatting or translations."
  type        = bool
  default     = false
}

variable "icu_layer_zip_path" {
  description = "Path of the ICU add-on layer zip. null means lambda-fpm-icu-full.zip next to the main layer zip (layer/build.sh writes both). Used when icu_full_data is true and icu_layer_arn is null."
  type        = string
  default     = null

  validation {
    condition     = var.icu_layer_zip_path == null || can(regex("\\.zip$", var.icu_layer_zip_path))
    error_message = "icu_layer_zip_path must name a .zip file."
  }
}

variable "icu_layer_arn" {
  description = "ARN (with version) of an already published ICU add-on layer (built by the same layer/build.sh run as the main layer: its data must match the main layer's ICU). Used when icu_full_data is true."
  type        = string
  default     = null

  validation {
    condition     = var.icu_layer_arn == null || can(regex("^arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:[0-9]{12}:layer:[A-Za-z0-9_-]+:[0-9]+$", var.icu_layer_arn))
    error_message = "icu_layer_arn must be a versioned layer ARN: arn:aws:lambda:<region>:<account>:layer:<name>:<version>."
  }
}

variable "extra_layer_arns" {
  description = "More layers to attach after the lambda-fpm layer (and the ICU add-on), e.g. extra PHP extensions. Lambda allows 5 layers in all."
  type        = list(string)
  default     = []

  validation {
    condition     = length(var.extra_layer_arns) <= 4
    error_message = "Lambda allows 5 layers per function: at most 4 besides lambda-fpm."
  }
}

variable "function_zip_path" {
  description = "Optional function package (zip) to deploy instead of the generated one. The runtime is in the layer, so the package only carries extras such as php/conf.d/*.ini (read from /var/task/php/conf.d)."
  type        = string
  default     = null

  validation {
    condition     = var.function_zip_path == null || can(regex("\\.zip$", var.function_zip_path))
    error_message = "function_zip_path must name a .zip file."
  }
}

variable "php_ini" {
  description = "Extra php.ini files for the generated function package: map of file name (e.g. \"90-site.ini\") to content. They land in /var/task/php/conf.d, which the bridge adds to PHP_INI_SCAN_DIR. Ignored when function_zip_path is set."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for k in keys(var.php_ini) : can(regex("^[A-Za-z0-9._-]+\\.ini$", k))])
    error_message = "php_ini keys must be plain file names ending in .ini."
  }
}

variable "architecture" {
  description = "Instruction set of the function and the layer: arm64 (Graviton; the default: about 20 % cheaper per GB-second than x86_64, and the arm64 layer passes the same portability tests) or x86_64. layer/build.sh builds both (dist/lambda-fpm-layer-arm64.zip and dist/lambda-fpm-layer.zip); the default layer_zip_path follows this, and a layer whose lambda-fpm-layer.json names another architecture fails the plan."
  type        = string
  default     = "arm64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "architecture must be x86_64 or arm64."
  }
}

variable "memory_size" {
  description = "Function memory in MB (CPU scales with it)."
  type        = number
  default     = 1024

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240 && floor(var.memory_size) == var.memory_size
    error_message = "memory_size must be an integer between 128 and 10240."
  }
}

variable "timeout" {
  description = "Function timeout in seconds. CloudFront waits at most 60 s for an origin by default (API Gateway 30 s); the bridge answers 504 LAMBDA_FPM_TIMEOUT_MARGIN_MS before the deadline."
  type        = number
  default     = 30

  validation {
    condition     = var.timeout >= 3 && var.timeout <= 900 && floor(var.timeout) == var.timeout
    error_message = "timeout must be an integer between 3 and 900."
  }
}

variable "ephemeral_storage_size" {
  description = "Size of /tmp in MB (the code mirror's copy of the site, ~72 MB for WordPress 6.8; the opcache file cache, ~21 MB; uploads in flight)."
  type        = number
  default     = 512

  validation {
    condition     = var.ephemeral_storage_size >= 512 && var.ephemeral_storage_size <= 10240
    error_message = "ephemeral_storage_size must be between 512 and 10240."
  }
}

variable "reserved_concurrency" {
  description = "Reserved concurrent executions for the function (also a cap that protects the database). null leaves the function unreserved."
  type        = number
  default     = null

  validation {
    condition     = var.reserved_concurrency == null || try(var.reserved_concurrency >= 0, false)
    error_message = "reserved_concurrency must be null or >= 0."
  }
}

variable "code_mirror" {
  description = "PHP runs against a local copy of the site's code in /tmp, kept in step with EFS by a generation marker (LAMBDA_FPM_CODE_MIRROR; see the repository README, \"EFS: the code mirror\"): warm pages at local-disk speed instead of one EFS round trip per file-system operation. false sets LAMBDA_FPM_CODE_MIRROR=off (PHP reads EFS). The copy needs the site's code size in ephemeral storage (WordPress 6.8: ~72 MB)."
  type        = bool
  default     = true
}

variable "provisioned_concurrency" {
  description = "Sandboxes kept initialised on the live alias (provisioned concurrency; billed while configured). 0 = none. When > 0, LAMBDA_FPM_OPCACHE_PRIME defaults to on: those sandboxes load the opcache seed into memory during init, so their first page is served at warm speed."
  type        = number
  default     = 0

  validation {
    condition     = try(var.provisioned_concurrency >= 0 && floor(var.provisioned_concurrency) == var.provisioned_concurrency, false)
    error_message = "provisioned_concurrency must be an integer >= 0."
  }
}

variable "invoke_mode" {
  description = "How the bridge answers: buffered (responses up to 6 MB) or response_stream (Function URL InvokeMode RESPONSE_STREAM, bodies beyond 6 MB). Sets both LAMBDA_FPM_INVOKE_MODE and the Function URL's invoke mode. API Gateway supports only buffered."
  type        = string
  default     = "buffered"

  validation {
    condition     = contains(["buffered", "response_stream"], var.invoke_mode)
    error_message = "invoke_mode must be buffered or response_stream."
  }
}

variable "log_format" {
  description = "Bridge log format (LAMBDA_FPM_LOG_FORMAT): json or text."
  type        = string
  default     = "json"

  validation {
    condition     = contains(["json", "text"], var.log_format)
    error_message = "log_format must be json or text."
  }
}

variable "log_retention_days" {
  description = "Retention of the function's CloudWatch log group, in days."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of the values CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)."
  }
}

variable "environment" {
  description = "Extra environment variables for the function (e.g. WORDPRESS_AUTH_KEY salts, LAMBDA_FPM_* tuning). They cannot override the variables this module wires (document root, origin secret, invoke mode, database)."
  type        = map(string)
  default     = {}
}

###############################################################################
# EFS
###############################################################################

variable "mount_path" {
  description = "Where the EFS access point is mounted in the function. It is also the bridge's LAMBDA_FPM_DOCUMENT_ROOT, so WordPress must sit at the root of the access point."
  type        = string
  default     = "/mnt/wordpress"

  validation {
    condition     = can(regex("^/mnt/[A-Za-z0-9._-]+$", var.mount_path))
    error_message = "mount_path must be /mnt/<name> (Lambda mounts file systems only under /mnt)."
  }
}

variable "efs_file_system_id" {
  description = "Existing EFS file system to use (it must already have mount targets reachable from subnet_ids, and allow NFS from the output function_security_group_id). null creates an encrypted file system with one mount target per subnet."
  type        = string
  default     = null

  validation {
    condition     = var.efs_file_system_id == null || can(regex("^fs-[0-9a-f]+$", var.efs_file_system_id))
    error_message = "efs_file_system_id must be null or a file system id (fs-...)."
  }
}

variable "efs_root_directory" {
  description = "Root directory of the access point on the file system; null means /roots/<name>. EFS creates it owned by efs_posix_user on first use."
  type        = string
  default     = null

  validation {
    condition     = var.efs_root_directory == null || can(regex("^/[A-Za-z0-9._/-]+$", var.efs_root_directory))
    error_message = "efs_root_directory must be an absolute path."
  }
}

variable "efs_posix_user" {
  description = "POSIX uid/gid every file operation of the function runs as (and owner of the access point's root directory)."
  type = object({
    uid = number
    gid = number
  })
  default = {
    uid = 1000
    gid = 1000
  }

  validation {
    condition     = var.efs_posix_user.uid >= 0 && var.efs_posix_user.gid >= 0
    error_message = "uid and gid must be >= 0."
  }
}

variable "efs_throughput_mode" {
  description = "Throughput mode of the created file system: elastic (recommended for spiky WordPress traffic), bursting or provisioned."
  type        = string
  default     = "elastic"

  validation {
    condition     = contains(["elastic", "bursting", "provisioned"], var.efs_throughput_mode)
    error_message = "efs_throughput_mode must be elastic, bursting or provisioned."
  }
}

variable "efs_provisioned_throughput_mibps" {
  description = "Provisioned throughput in MiB/s, used only when efs_throughput_mode is provisioned."
  type        = number
  default     = null
}

variable "efs_kms_key_arn" {
  description = "KMS key for EFS encryption at rest; null uses the AWS managed key."
  type        = string
  default     = null
}

variable "efs_backup" {
  description = "Enable AWS Backup's automatic daily backups of the created file system."
  type        = bool
  default     = true
}

###############################################################################
# Front door
###############################################################################

variable "origin_type" {
  description = "What CloudFront forwards to: function_url (Lambda Function URL, auth NONE, protected by the origin secret header) or api_gateway (API Gateway HTTP API, 30 s limit, buffered only)."
  type        = string
  default     = "function_url"

  validation {
    condition     = contains(["function_url", "api_gateway"], var.origin_type)
    error_message = "origin_type must be function_url or api_gateway."
  }
}

variable "origin_secret" {
  description = "Value of the secret header CloudFront adds to every origin request and the bridge requires (LAMBDA_FPM_ORIGIN_SECRET). null generates a random 48-character value. Rotate by changing it (CloudFront and the function update in one apply; expect a few 403s while CloudFront deploys)."
  type        = string
  default     = null
  sensitive   = true

  validation {
    condition     = var.origin_secret == null || try(length(var.origin_secret) >= 32 && can(regex("^[A-Za-z0-9._~-]+$", var.origin_secret)), false)
    error_message = "origin_secret must be null or at least 32 characters of A-Z a-z 0-9 . _ ~ -."
  }
}

variable "origin_secret_header" {
  description = "Name of the secret origin header (LAMBDA_FPM_ORIGIN_SECRET_HEADER)."
  type        = string
  default     = "x-origin-secret"

  validation {
    condition     = can(regex("^x-[a-z0-9-]+$", var.origin_secret_header))
    error_message = "origin_secret_header must be a lower-case header name starting with x-."
  }
}

variable "domain_names" {
  description = "Custom host names (CloudFront aliases) for the site, first one is the canonical site URL. Empty: the site is served on the cloudfront.net name."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for d in var.domain_names : can(regex("^(\\*\\.)?([a-z0-9]([a-z0-9-]*[a-z0-9])?\\.)+[a-z]{2,}$", d))])
    error_message = "domain_names must be lower-case DNS names."
  }
}

variable "acm_certificate_arn" {
  description = "ACM certificate in us-east-1 covering domain_names. null with domain_names and route53_zone_id set: the module requests one and validates it through Route 53."
  type        = string
  default     = null

  validation {
    condition     = var.acm_certificate_arn == null || can(regex("^arn:aws[a-zA-Z-]*:acm:us-east-1:[0-9]{12}:certificate/.+$", var.acm_certificate_arn))
    error_message = "acm_certificate_arn must be an ACM certificate ARN in us-east-1 (CloudFront requires it)."
  }
}

variable "route53_zone_id" {
  description = "Route 53 hosted zone for domain_names. When set, the module creates A/AAAA alias records to CloudFront (and the DNS validation records of the certificate it requests)."
  type        = string
  default     = null
}

variable "price_class" {
  description = "CloudFront price class."
  type        = string
  default     = "PriceClass_100"

  validation {
    condition     = contains(["PriceClass_100", "PriceClass_200", "PriceClass_All"], var.price_class)
    error_message = "price_class must be PriceClass_100, PriceClass_200 or PriceClass_All."
  }
}

variable "web_acl_id" {
  description = "Optional AWS WAF web ACL (ARN, us-east-1/global scope) to attach to the distribution."
  type        = string
  default     = null
}

variable "static_cache_ttl" {
  description = "TTLs (seconds) of /wp-content/* and /wp-includes/* when the origin sends no Cache-Control (default) and the bounds applied to it (min, max)."
  type = object({
    min     = number
    default = number
    max     = number
  })
  default = {
    min     = 0
    default = 86400
    max     = 31536000
  }

  validation {
    condition     = var.static_cache_ttl.min >= 0 && var.static_cache_ttl.min <= var.static_cache_ttl.default && var.static_cache_ttl.default <= var.static_cache_ttl.max
    error_message = "static_cache_ttl must satisfy 0 <= min <= default <= max."
  }
}

variable "page_cache_max_ttl" {
  description = "Upper bound (seconds) on how long CloudFront keeps a page the origin marked cacheable. Pages without Cache-Control are not cached (default TTL 0)."
  type        = number
  default     = 31536000

  validation {
    condition     = var.page_cache_max_ttl >= 0
    error_message = "page_cache_max_ttl must be >= 0."
  }
}

variable "page_cache_ignored_cookies" {
  description = "Cookies left out of the page cache key (analytics cookies set by JavaScript). Every other cookie, including WordPress's wordpress_logged_in_*, wp-postpass_* and comment_author_*, varies the cache, so logged-in users and commenters never share cached pages with anonymous visitors."
  type        = list(string)
  default     = ["_ga", "_gid", "_gat", "_gcl_au", "_fbp"]

  validation {
    condition     = length(var.page_cache_ignored_cookies) >= 1 && length(var.page_cache_ignored_cookies) <= 10
    error_message = "page_cache_ignored_cookies must hold 1 to 10 names (CloudFront's limit per cache policy)."
  }
}

variable "error_caching_min_ttl" {
  description = "How long CloudFront caches error responses, per status code (seconds). 5xx are not cached by default so a recovered origin is seen at once."
  type        = map(number)
  default = {
    "404" = 10
    "500" = 0
    "502" = 0
    "503" = 0
    "504" = 0
  }

  validation {
    condition     = alltrue([for k, v in var.error_caching_min_ttl : can(regex("^[45][0-9][0-9]$", k)) && v >= 0])
    error_message = "error_caching_min_ttl keys must be 4xx/5xx status codes and values >= 0."
  }
}

###############################################################################
# Scheduled wp-cron
###############################################################################

variable "cron_schedule_minutes" {
  description = "Run WordPress's due cron events every N minutes through an EventBridge Scheduler schedule that invokes the `live` alias with {\"lambda_fpm\":{\"command\":\"cron\"}}. null disables it (then leave WP-Cron on page loads enabled)."
  type        = number
  default     = 5

  validation {
    condition     = var.cron_schedule_minutes == null || try(var.cron_schedule_minutes >= 1 && var.cron_schedule_minutes <= 1440 && floor(var.cron_schedule_minutes) == var.cron_schedule_minutes, false)
    error_message = "cron_schedule_minutes must be null or an integer from 1 to 1440."
  }
}

variable "install_source_s3_object_arns" {
  description = "S3 object ARNs (wildcards allowed, e.g. arn:aws:s3:::my-bucket/wordpress/*) the install command may fetch with an s3:// URL. Empty: the function gets no S3 access."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.install_source_s3_object_arns : can(regex("^arn:aws[a-z-]*:s3:::[^/]+/.+$", a))])
    error_message = "Each entry must be an S3 object ARN such as arn:aws:s3:::bucket/key or arn:aws:s3:::bucket/prefix/*."
  }
}

###############################################################################
# Monitoring (monitoring.tf): the bridge's EMF metrics, a dashboard, alarms
###############################################################################

variable "metrics" {
  description = "The bridge writes CloudWatch metrics as Embedded Metric Format log lines (LAMBDA_FPM_METRICS): no agent, no API call, ~410 bytes of log per request. The dashboard and the alarms below read them."
  type        = bool
  default     = true
}

variable "metrics_namespace" {
  description = "CloudWatch namespace of the bridge's metrics (LAMBDA_FPM_METRICS_NAMESPACE). Several sites may share it: every metric has the function name as a dimension."
  type        = string
  default     = "lambda-fpm"

  validation {
    condition     = can(regex("^[A-Za-z0-9._/#:-]{1,255}$", var.metrics_namespace)) && !startswith(var.metrics_namespace, "AWS/")
    error_message = "metrics_namespace must be 1-255 letters, digits and . _ - / # : and must not start with AWS/."
  }
}

variable "server_timing" {
  description = "Server-Timing (LAMBDA_FPM_SERVER_TIMING): log (in the request log only, the default), on (also sent to viewers: browsers' dev tools show where a request's time went; it reveals timings, so turn it on while investigating), off."
  type        = string
  default     = "log"

  validation {
    condition     = contains(["log", "on", "off"], var.server_timing)
    error_message = "server_timing must be log, on or off."
  }
}

variable "dashboard" {
  description = "Create a CloudWatch dashboard named after the site: the bridge's metrics, Lambda's and CloudFront's."
  type        = bool
  default     = true
}

variable "alarms" {
  description = "Create the CloudWatch alarms (5xx rate, deadline 504s, php-fpm restarts, cold-start share, cron failures). They need metrics = true."
  type        = bool
  default     = true
}

variable "alarm_topic_arn" {
  description = "SNS topic the alarms notify (alarm and OK). null: the alarms exist (console, API) but notify no one."
  type        = string
  default     = null

  validation {
    condition     = var.alarm_topic_arn == null || can(regex("^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]+(\\.fifo)?$", var.alarm_topic_arn))
    error_message = "alarm_topic_arn must be an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)."
  }
}

variable "alarm_5xx_rate_percent" {
  description = "Alarm when more than this share of requests (%) got a 5xx from the bridge in two consecutive 5-minute periods."
  type        = number
  default     = 2

  validation {
    condition     = var.alarm_5xx_rate_percent > 0 && var.alarm_5xx_rate_percent <= 100
    error_message = "alarm_5xx_rate_percent must be in (0, 100]."
  }
}

variable "alarm_cold_start_percent" {
  description = "Alarm when more than this share of requests (%) were a sandbox's first (cold) in an hour: a sign to raise provisioned_concurrency or check init time."
  type        = number
  default     = 20

  validation {
    condition     = var.alarm_cold_start_percent > 0 && var.alarm_cold_start_percent <= 100
    error_message = "alarm_cold_start_percent must be in (0, 100]."
  }
}
