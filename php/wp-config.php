<?php
/**
 * wp-config.php for WordPress on AWS Lambda with lambda-fpm (the same file works locally and on EFS).
 *
 * Everything comes from the environment (the Lambda function's env vars; php-fpm runs with clear_env = no):
 *   WORDPRESS_DB_HOST, WORDPRESS_DB_NAME, WORDPRESS_DB_USER, WORDPRESS_DB_PASSWORD, WORDPRESS_DB_CHARSET,
 *   WORDPRESS_TABLE_PREFIX, WORDPRESS_AUTH_KEY ... WORDPRESS_NONCE_SALT, WORDPRESS_DEBUG,
 *   WORDPRESS_HOME (optional: pin the site URL instead of deriving it from the request),
 *   WORDPRESS_DISABLE_WP_CRON (optional: "1" when wp-cron.php is called by a schedule instead),
 *   WORDPRESS_HTTP_BLOCK_EXTERNAL (optional: "1" when the function has no route to the internet) and
 *   WORDPRESS_ACCESSIBLE_HOSTS (optional, with it: comma list of hosts still allowed, e.g. "*.wordpress.org").
 *
 * The site URL (WP_HOME / WP_SITEURL) is derived from each request: scheme from $_SERVER['HTTPS'], host
 * from $_SERVER['HTTP_HOST']. The bridge sets both: behind CloudFront (origin secret matched) HTTP_HOST is
 * the public name from X-Forwarded-Host and HTTPS is "on" for X-Forwarded-Proto https. So the same
 * database serves localhost, the Function URL and the public name without rewriting any option.
 */

if (!function_exists('lambda_fpm_env')) {
    function lambda_fpm_env($name, $default = null) {
        $v = getenv($name);
        return ($v === false || $v === '') ? $default : $v;
    }
}

// ** Database settings ** //
define('DB_NAME', lambda_fpm_env('WORDPRESS_DB_NAME', 'wordpress'));
define('DB_USER', lambda_fpm_env('WORDPRESS_DB_USER', 'wordpress'));
define('DB_PASSWORD', lambda_fpm_env('WORDPRESS_DB_PASSWORD', ''));
// "host", "host:port" or "localhost:/path/to/mysqld.sock"
define('DB_HOST', lambda_fpm_env('WORDPRESS_DB_HOST', 'localhost'));
define('DB_CHARSET', lambda_fpm_env('WORDPRESS_DB_CHARSET', 'utf8mb4'));
define('DB_COLLATE', lambda_fpm_env('WORDPRESS_DB_COLLATE', ''));
$table_prefix = lambda_fpm_env('WORDPRESS_TABLE_PREFIX', 'wp_');

// ** Keys and salts ** //
// Env vars first; then wp-salts.php next to this file (written once at install); anything still undefined
// makes WordPress generate the value and keep it in the database (wp_salt()), which is also persistent.
foreach (array('AUTH_KEY', 'SECURE_AUTH_KEY', 'LOGGED_IN_KEY', 'NONCE_KEY',
               'AUTH_SALT', 'SECURE_AUTH_SALT', 'LOGGED_IN_SALT', 'NONCE_SALT') as $lambda_fpm_key) {
    $lambda_fpm_val = lambda_fpm_env('WORDPRESS_' . $lambda_fpm_key);
    if ($lambda_fpm_val !== null && !defined($lambda_fpm_key)) {
        define($lambda_fpm_key, $lambda_fpm_val);
    }
}
unset($lambda_fpm_key, $lambda_fpm_val);
if (is_readable(__DIR__ . '/wp-salts.php')) {
    require __DIR__ . '/wp-salts.php';
}

// ** Site URL from the request ** //
if (!defined('WP_HOME')) {
    $lambda_fpm_home = lambda_fpm_env('WORDPRESS_HOME');
    if ($lambda_fpm_home === null) {
        $lambda_fpm_https = isset($_SERVER['HTTPS']) && $_SERVER['HTTPS'] !== '' && strtolower($_SERVER['HTTPS']) !== 'off';
        $lambda_fpm_host = isset($_SERVER['HTTP_HOST']) ? strtolower(trim($_SERVER['HTTP_HOST'])) : '';
        // Only a plain host name / IPv4 / [IPv6] with an optional port: anything else is not used in links.
        if ($lambda_fpm_host === '' || !preg_match('/^(?:[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?|\[[0-9a-f:.]+\])(?::[0-9]{1,5})?$/', $lambda_fpm_host)) {
            $lambda_fpm_host = 'localhost';   // CLI (cron, wp_install) or a malformed Host header
        }
        $lambda_fpm_home = ($lambda_fpm_https ? 'https' : 'http') . '://' . $lambda_fpm_host;
        unset($lambda_fpm_https, $lambda_fpm_host);
    }
    define('WP_HOME', rtrim($lambda_fpm_home, '/'));
    unset($lambda_fpm_home);
}
if (!defined('WP_SITEURL')) {
    define('WP_SITEURL', WP_HOME);
}

// ** Lambda-friendly behaviour ** //
// Files live on EFS and PHP may write them directly (no FTP credentials prompt for plugin installs).
define('FS_METHOD', 'direct');
if (lambda_fpm_env('WORDPRESS_DISABLE_WP_CRON') === '1') {
    define('DISABLE_WP_CRON', true);
}
// Outbound HTTP. In private subnets without a NAT gateway (or with no internet at all) every call WordPress
// makes to the internet waits for its timeout: wp-login.php alone asks api.wordpress.org for the list of
// translations on every view (wp_dropdown_languages; 3 s over https, then 3 s over http, and a failure is not
// cached), so each login page would take ~6 s. WORDPRESS_HTTP_BLOCK_EXTERNAL=1 makes such calls fail at once
// with WordPress's own "blocked" error; requests to the site itself still go through.
if (lambda_fpm_env('WORDPRESS_HTTP_BLOCK_EXTERNAL') === '1') {
    define('WP_HTTP_BLOCK_EXTERNAL', true);
    if (lambda_fpm_env('WORDPRESS_ACCESSIBLE_HOSTS') !== null) {
        define('WP_ACCESSIBLE_HOSTS', lambda_fpm_env('WORDPRESS_ACCESSIBLE_HOSTS'));
    }
}
define('WP_DEBUG', lambda_fpm_env('WORDPRESS_DEBUG') === '1');
define('WP_DEBUG_DISPLAY', false);   // errors go to the log (stderr → CloudWatch), never into pages

/*
 * lambda-fpm's code mirror: PHP normally runs against a local copy of the site's code; when
 * WordPress installs, updates, deletes or edits code (on EFS), the generation marker the bridge
 * names in LAMBDA_FPM_CODE_GENERATION_FILE is rewritten, and every sandbox leaves its copy within
 * LAMBDA_FPM_CODE_MIRROR_CHECK_MS. Registered before WordPress loads (pre-initialized hooks).
 * Without these lines the bridge marks every code-changing request as a change itself.
 */
if (!function_exists('lambda_fpm_code_changed')) {
    function lambda_fpm_code_changed($passthrough = null) {
        $marker = getenv('LAMBDA_FPM_CODE_GENERATION_FILE');
        if (is_string($marker) && $marker !== '') {
            $dir = dirname($marker);
            if (is_dir($dir) || @mkdir($dir, 0755, true)) {
                $token = bin2hex(random_bytes(8)) . '-php';
                $tmp = $marker . '.tmp-' . $token;
                if (@file_put_contents($tmp, $token . "\n") !== false) {
                    @rename($tmp, $marker);
                } else {
                    error_log('lambda-fpm: cannot write the code generation marker ' . $marker);
                }
            }
        }
        return $passthrough;   // also used as a filter
    }
}
foreach ([
    'upgrader_pre_install' => 1,          // before an upgrader writes (filter: passes $response on)
    'upgrader_process_complete' => 0,     // plugins, themes, core, translations, after writing
    'automatic_updates_complete' => 0,
    'deleted_plugin' => 0,
    'deleted_theme' => 0,
    'wp_ajax_edit_theme_plugin_file' => 0, // the theme/plugin file editors (before the write) ...
] as $lambda_fpm_hook => $lambda_fpm_args) {
    $GLOBALS['wp_filter'][$lambda_fpm_hook][10]['lambda_fpm_code_changed'] =
        ['function' => 'lambda_fpm_code_changed', 'accepted_args' => $lambda_fpm_args];
}
// ... and after it (the editor's handler ends the request with wp_send_json)
$GLOBALS['wp_filter']['wp_ajax_edit_theme_plugin_file'][1]['lambda_fpm_code_changed_after'] =
    ['function' => function () { register_shutdown_function('lambda_fpm_code_changed'); }, 'accepted_args' => 0];
unset($lambda_fpm_hook, $lambda_fpm_args);

/* That's all, stop editing! Happy publishing. */

if (!defined('ABSPATH')) {
    define('ABSPATH', __DIR__ . '/');
}

require_once ABSPATH . 'wp-settings.php';
