<?php
/**
 * lambda-fpm opcache priming (LAMBDA_FPM_OPCACHE_PRIME=on). The bridge writes this file into its runtime
 * directory and requests it once over FastCGI during Lambda's init, after php-fpm is up and the opcache seed
 * is restored. It loads every script the file cache holds for the document root into opcache's shared memory
 * (opcache_compile_file reads the pre-compiled file when it is valid and compiles the source otherwise; nothing
 * is executed), so the first visitor's page does not pay for it. It is not reachable by visitors: it lives
 * outside the document root and the bridge only routes paths inside it.
 *
 * FastCGI params (set by the bridge): DOCUMENT_ROOT, LAMBDA_FPM_OPCACHE_DIR (opcache.file_cache),
 * LAMBDA_FPM_PRIME_BUDGET_MS (stop after this long). Answers one JSON object.
 */
$started = hrtime(true);
$budget_ns = max(1, (int) ($_SERVER['LAMBDA_FPM_PRIME_BUDGET_MS'] ?? 3000)) * 1000000;
$root = rtrim((string) ($_SERVER['DOCUMENT_ROOT'] ?? ''), '/');
$cache = rtrim((string) ($_SERVER['LAMBDA_FPM_OPCACHE_DIR'] ?? ''), '/');
$report = ['scripts' => 0, 'failed' => 0, 'stale' => 0, 'out_of_time' => false, 'error' => null];

header('Content-Type: application/json');
if (!function_exists('opcache_compile_file') || !ini_get('opcache.enable')) {
    $report['error'] = 'opcache is not enabled';
} elseif ($root === '' || $cache === '' || !is_dir($cache)) {
    $report['error'] = 'no document root or no file cache directory';
} else {
    // The file cache keeps one tree per PHP build (its system id) mirroring absolute paths:
    // <cache>/<system id>/<absolute path>.bin. Only this site's scripts are primed.
    foreach (glob($cache . '/*', GLOB_ONLYDIR) ?: [] as $build) {
        $base = $build . $root;
        if (!is_dir($base)) {
            continue;
        }
        $files = new RecursiveIteratorIterator(
            new RecursiveDirectoryIterator($base, FilesystemIterator::SKIP_DOTS)
        );
        foreach ($files as $file) {
            $bin = $file->getPathname();
            if (substr($bin, -4) !== '.bin') {
                continue;
            }
            if (hrtime(true) - $started > $budget_ns) {
                $report['out_of_time'] = true;
                break 2;
            }
            $source = substr($bin, strlen($build), -4);
            if (!is_file($source)) {
                $report['stale']++; // the script was deleted since the seed was made
                continue;
            }
            try {
                if (@opcache_compile_file($source)) {
                    $report['scripts']++;
                } else {
                    $report['failed']++;
                }
            } catch (Throwable $e) {
                $report['failed']++;
            }
        }
    }
}
$report['ms'] = round((hrtime(true) - $started) / 1e6, 1);
echo json_encode($report);
