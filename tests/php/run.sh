#!/usr/bin/env bash
# The PHP suite, through PHP's FFI extension and php/YunxinEcp.php, self-sufficient on a fresh
# Debian machine:
#
# - installs php-cli with apt-get when missing (Debian's PHP ships the FFI extension);
# - builds the library (cargo build --release -p yunxin-ecp-ffi, honouring CARGO_TARGET_DIR);
# - runs tests/php/test_yunxin_ecp.php (every vector, the wrapper, the client against the mock);
# - runs tests/php/test_body_cap.php: the callback body cap of verifyRequest() and readBody()
#   (a Content-Length over it refused before reading, a longer body once past it, exactly the
#   cap accepted, a custom cap, a cap <= 0 refused), on a counting stream and behind php -S;
# - runs tests/php/test_log.php: the client's log events through YunxinEcp\Log against the mock
#   (levels, attempts, retries, nothing secret or unmasked, removal, the PSR-3 adapter, handlers
#   that throw, recurse, exit or die, and a handler left set at the end of a php -S request);
# - runs tests/php/test_deliveries.php: CallbackVerifier over several credentials (a rotation,
#   several apps) and the Delivery verify() returns, DeliveryGuard over the library's memory
#   store and over stores written in PHP (failures named by class and step, never their words),
#   the library's answers, and handleRequest()'s duplicate flow, in process and behind php -S
#   with two workers sharing a store (a repeat while the first is handled: 409);
# - runs tests/php/test_middleware.php: the PSR-15 middleware of php/CallbackMiddleware.php on
#   Debian's PSR-7 and PSR-17 packages (php-nyholm-psr7, installed with apt-get when missing),
#   PSR-15's interfaces from tests/php/psr15.php when no package provides them; and checks that
#   the middleware's file declares nothing (and fails nothing) without PSR-15;
# - runs tests/php/test_adversarial.php: PHP traces with arguments (every error path's exception
#   rendered every way, caught and uncaught, in child processes under PHP's built-in defaults with
#   zend.exception_ignore_args off and on: no crash, no secret) and hostile callers;
# - runs tests/php/test_loading.php: where the wrapper looks for the library (YUNXIN_ECP_LIB, the
#   SDK's ../lib, a checkout's ../target/release, the system loader) and the header, from copies
#   of the wrapper laid out as an SDK and as a checkout, and what it says when it cannot load
#   them or FFI is disabled;
# - checks the header the wrapper writes for ffi.preload (YunxinEcp\Ffi::preloadHeader()) loads
#   through FFI::load() (its FFI_SCOPE and FFI_LIB directives) and through ffi.preload +
#   opcache.preload of php/preload.php, as php/preload.php tells PHP-FPM users to set it up;
#   that YUNXIN_ECP_HEADER overrides the C header the wrapper reads; and that a library of
#   another ABI is refused;
# - runs examples/php/server_api.php against the mock, and the callback handler end to end
#   behind PHP's built-in web server (tests/php/callback_e2e.php): with ffi.preload and
#   php/preload.php, with php/preload.php alone, as the development one-liner
#   `php -d ffi.enable=1 -S ...` of its comment, and refused (with the message naming the
#   settings) under PHP's default without them;
# - checks composer.json (JSON, the package name, the autoloaded file, the PHP version the wrapper
#   needs; `composer validate --strict` too when composer is installed).
#
# Closes with "php: N passed, M failed"; exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/../.."
repo="$(pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"

command -v php >/dev/null 2>&1 || bash scripts/apt-install.sh php-cli || exit 1
# PSR-7 and PSR-17 for the middleware's suite (Debian packages no PSR-15: tests/php/psr15.php).
psr=()
for package in php-psr-http-message php-psr-http-factory php-nyholm-psr7; do
  dpkg -s "$package" >/dev/null 2>&1 || psr+=("$package")
done
bash scripts/apt-install.sh "${psr[@]}" || exit 1
# (Not `php -m | grep -q`: grep quits at the first match and, under pipefail, php's SIGPIPE
# would fail the test.)
if ! php -r 'exit(extension_loaded("ffi") ? 0 : 1);'; then
  echo "this PHP has no FFI extension" >&2
  echo "php: 0 passed, 1 failed"
  exit 1
fi

cargo build --release -p yunxin-ecp-ffi || exit 1
libdir="$CARGO_TARGET_DIR/release"
export YUNXIN_ECP_LIB="$libdir/libyunxin_ecp.so"

passed=0
failed=0

# Adds the counts of a "<label>: N passed, M failed" line from a run's output.
count() {
  local label=$1 file=$2 line
  line="$(grep -E "^$label: [0-9]+ passed, [0-9]+ failed$" "$file" | tail -n 1)"
  if [ -z "$line" ]; then
    echo "$label: no summary line" >&2
    failed=$((failed + 1))
    return
  fi
  passed=$((passed + $(echo "$line" | sed -E 's/.*: ([0-9]+) passed.*/\1/')))
  failed=$((failed + $(echo "$line" | sed -E 's/.* ([0-9]+) failed$/\1/')))
}

# One named check: passes when the command succeeds.
check() {
  local name=$1
  shift
  if "$@"; then
    passed=$((passed + 1))
  else
    echo "FAIL [$name]" >&2
    failed=$((failed + 1))
  fi
}

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
# What a PHP-FPM install writes once: the declarations, with FFI_LIB naming the library as the
# dynamic loader finds it.
header="$out/yunxin_ecp_php.h"
php -r 'require $argv[1]; echo YunxinEcp\Ffi::preloadHeader("libyunxin_ecp.so");' "$repo/php/YunxinEcp.php" >"$header"

# (A crash before the summary line counts as a failure in count.)
php tests/php/test_yunxin_ecp.php "$repo/tests/vectors" >"$out/suite" 2>&1
grep -v -E '^php: ' "$out/suite"
count php "$out/suite"

php tests/php/test_body_cap.php >"$out/cap" 2>&1
grep -v -E '^body cap: ' "$out/cap"
count "body cap" "$out/cap"

php tests/php/test_log.php >"$out/log" 2>&1
grep -v -E '^log: ' "$out/log"
count log "$out/log"

php tests/php/test_deliveries.php >"$out/deliveries" 2>&1
grep -v -E '^deliveries: ' "$out/deliveries"
count deliveries "$out/deliveries"

php tests/php/test_middleware.php >"$out/middleware" 2>&1
grep -v -E '^middleware: ' "$out/middleware"
count middleware "$out/middleware"

check "php/CallbackMiddleware.php without PSR-15 declares nothing" \
  php -r 'require $argv[1]; require $argv[2]; exit(class_exists("YunxinEcp\\CallbackMiddleware", false) ? 1 : 0);' \
  "$repo/php/YunxinEcp.php" "$repo/php/CallbackMiddleware.php"

php tests/php/test_adversarial.php >"$out/adversarial" 2>&1
grep -v -E '^adversarial: ' "$out/adversarial"
count adversarial "$out/adversarial"

php tests/php/test_loading.php >"$out/loading" 2>&1
grep -v -E '^loading: ' "$out/loading"
count loading "$out/loading"

php tests/php/callback_e2e.php >"$out/e2e" 2>&1
grep -v -E '^callback e2e: ' "$out/e2e"
count "callback e2e" "$out/e2e"

# FFI::load() reads the header's FFI_LIB ("libyunxin_ecp.so", found by the dynamic loader).
check "FFI::load() of the preload header" env LD_LIBRARY_PATH="$libdir" \
  php -r 'exit(FFI::load($argv[1])->yx_abi_version() === 2 ? 0 : 1);' "$header"

# Without a preloaded scope the wrapper reads the C header YUNXIN_ECP_HEADER names, and says so
# when it cannot.
check "YUNXIN_ECP_HEADER overrides the header" env YUNXIN_ECP_HEADER=/nonexistent/yunxin_ecp.h \
  php -r 'require $argv[1]; try { YunxinEcp\YunxinEcp::version(); } catch (RuntimeException $e) {
    exit(str_contains($e->getMessage(), "/nonexistent/yunxin_ecp.h") ? 0 : 1); } exit(1);' "$repo/php/YunxinEcp.php"

# A library of another ABI is refused with both versions named: a stand-in library that has
# nothing but yx_abi_version(), answering 1 (cc is there: cargo links with it).
abi_mismatch() {
  printf '#include <stdint.h>\nuint32_t yx_abi_version(void) { return 1; }\n' >"$out/abi1.c"
  cc -shared -fPIC -o "$out/libabi1.so" "$out/abi1.c" || return 1
  YUNXIN_ECP_LIB="$out/libabi1.so" php -r 'require $argv[1]; try { YunxinEcp\YunxinEcp::version(); }
    catch (RuntimeException $e) { exit(preg_match("/ABI version 1\\b.*ABI version 2\\b/", $e->getMessage()) ? 0 : 1); }
    exit(1);' "$repo/php/YunxinEcp.php"
}
check "a library of another ABI is refused" abi_mismatch

# The PHP-FPM setup of php/preload.php: ffi.preload for the header, opcache.preload of
# php/preload.php for the wrapper. YUNXIN_ECP_LIB and YUNXIN_ECP_HEADER point nowhere, so only
# the preloaded scope can serve; the classes are there without a require (class_exists without
# autoloading), and requiring the wrapper again as an application would is harmless.
user="$(id -un 2>/dev/null || echo root)"
check "ffi.preload + opcache.preload=php/preload.php" env LD_LIBRARY_PATH="$libdir" \
  YUNXIN_ECP_LIB=/nonexistent/libyunxin_ecp.so YUNXIN_ECP_HEADER=/nonexistent \
  php -d ffi.enable=preload -d "ffi.preload=$header" -d opcache.enable=1 -d opcache.enable_cli=1 \
  -d "opcache.preload=$repo/php/preload.php" -d "opcache.preload_user=$user" \
  -r 'if (!class_exists("YunxinEcp\\Client", false)) exit(1); require_once $argv[1];
    exit(YunxinEcp\YunxinEcp::abiVersion() === 2 ? 0 : 1);' "$repo/php/YunxinEcp.php"

# composer.json: the package the wrapper's readers install. PSR-4 cannot serve (one file holds
# every class of the namespace), so Composer loads the file itself.
composer_json() {
  php -r '$c = json_decode(file_get_contents($argv[1]), true, 512, JSON_THROW_ON_ERROR);
    exit($c["name"] === "yunxin-ecp/yunxin-ecp" && $c["type"] === "library"
      && $c["autoload"] === ["files" => ["php/YunxinEcp.php"]] && is_file(dirname($argv[1]) . "/php/YunxinEcp.php")
      && $c["require"] === ["php" => ">=8.2", "ext-ffi" => "*"] ? 0 : 1);' "$repo/composer.json" || return 1
  if command -v composer >/dev/null 2>&1; then
    COMPOSER_ALLOW_SUPERUSER=1 composer validate --strict --no-interaction "$repo/composer.json" >/dev/null || return 1
  fi
}
check "composer.json" composer_json

check "examples/php/server_api.php against the mock" php examples/php/server_api.php

echo "php: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
