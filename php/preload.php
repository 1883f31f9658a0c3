<?php
/**
 * The opcache.preload script for php/YunxinEcp.php: requires the wrapper, so that PHP compiles
 * its classes once at server start and every request finds them (and, with ffi.preload, the
 * library) without loading anything.
 *
 * Why: PHP's default ffi.enable=preload allows FFI on the command line and in preloaded code
 * only. Under PHP-FPM, Apache's mod_php or `php -S`, a wrapper that was not preloaded fails with
 * "FFI is restricted ..." (and the message names these settings). Keep ffi.enable=preload:
 * ffi.enable=1 would let any code of the site call into any C library.
 *
 * Setup, once per install or upgrade of the library:
 *
 * 1. Write the header ffi.preload reads: the declarations with FFI_SCOPE "YUNXIN_ECP" and
 *    FFI_LIB naming the library the wrapper finds (YUNXIN_ECP_LIB, ../lib, ../target/release,
 *    else libyunxin_ecp.so from the loader's path: ffi-c/install.sh /usr/local, then ldconfig):
 *
 *        php -r 'require "/srv/app/vendor/yunxin-ecp/yunxin-ecp/php/YunxinEcp.php";
 *                echo YunxinEcp\Ffi::preloadHeader();' > /usr/local/include/yunxin_ecp_php.h
 *
 * 2. In php.ini, with this file's real path (not in an FPM pool's configuration: preloading
 *    happens once, when the master process starts, before any pool's settings apply):
 *
 *        ffi.enable = preload
 *        ffi.preload = /usr/local/include/yunxin_ecp_php.h
 *        opcache.enable = 1
 *        opcache.preload = /srv/app/vendor/yunxin-ecp/yunxin-ecp/php/preload.php
 *        ; only when PHP starts as root (PHP-FPM's master does): the user preloading runs as
 *        opcache.preload_user = www-data
 *
 *    (For `php -S`, opcache.enable_cli = 1 too: the built-in server counts as the command line.)
 *
 * 3. Restart PHP-FPM (or Apache): preloading happens only at start.
 *
 * ffi.preload loads the header once per server start under the scope YUNXIN_ECP, which
 * YunxinEcp\Ffi::get() finds by itself. Without it the preloaded wrapper still works (preloaded
 * code may call FFI::cdef()), but reads the header and opens the library in every request.
 * Requiring the wrapper again from the application (require_once, Composer's autoloader) is
 * harmless: the preloaded classes stay.
 */

declare(strict_types=1);

require_once __DIR__ . '/YunxinEcp.php';
