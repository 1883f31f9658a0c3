<?php
/**
 * A call-end callback endpoint: the URL YunXin POSTs each call's record to.
 *
 * Development, from the repository root (after cargo build --release -p yunxin-ecp-ffi) or an
 * unpacked SDK, with PHP's built-in web server:
 *
 *   YUNXIN_APP_KEY=... YUNXIN_APP_SECRET=... php -d ffi.enable=1 -S 127.0.0.1:8080 examples/php/callback_handler.php
 *
 * (`-d ffi.enable=1`: PHP's default, ffi.enable=preload, allows FFI in web requests only to
 * preloaded code; without it every request fails with a message naming the setting.) The
 * wrapper finds the library by itself there (../lib or ../target/release from php/; else set
 * YUNXIN_ECP_LIB). In production keep ffi.enable=preload and preload the wrapper: the php.ini
 * lines are in php/preload.php.
 *
 * It verifies the raw body (php://input, never json_decode/json_encode'd first) against the MD5,
 * CheckSum and CurTime headers, with the current secret or the previous one (YUNXIN_APP_SECRET_PREVIOUS,
 * during a rotation), answers 403 to anything forged or stale (400 to a body that is not a
 * callback, 413 to one over 1 MiB, read no further), handles each delivery once (a repeat of one
 * handled before is answered 200 {"result":"duplicate"}, one being handled by another request
 * 409), and answers 200 quickly (YunXin expects an answer within 5 s). The deliveries are kept in
 * a directory every PHP process shares (PHP-FPM and php -S start each request afresh, so memory
 * would not do; Redis or a table serve the same way). YUNXIN_CALLBACK_LOG, when set, names a
 * file that receives one JSON line per new record.
 */

declare(strict_types=1);

require dirname(__DIR__, 2) . '/php/YunxinEcp.php';

use YunxinEcp\CallbackVerifier;
use YunxinEcp\Credentials;
use YunxinEcp\Delivery;
use YunxinEcp\DeliveryGuard;
use YunxinEcp\DeliveryStore;

/**
 * Deliveries as directories: mkdir() is atomic, so of two requests carrying one delivery at
 * once exactly one creates it. (Entries past their expiry may be deleted by a cron job: a repeat
 * that old is refused as stale before it is claimed.)
 */
final class DirectoryStore implements DeliveryStore
{
    public function __construct(private string $dir)
    {
        @mkdir($dir, 0700, true);
    }

    public function claim(string $key, int $expiresAtMs, int $nowMs): string
    {
        if (@mkdir("$this->dir/$key", 0700)) {
            file_put_contents("$this->dir/$key/expires", (string) $expiresAtMs);
            return 'first';
        }
        return is_file("$this->dir/$key/done") ? 'duplicate' : 'in_progress';
    }

    public function complete(string $key, int $expiresAtMs): void
    {
        if (!touch("$this->dir/$key/done")) {
            throw new RuntimeException('cannot mark the delivery done');
        }
    }

    public function release(string $key): void
    {
        @unlink("$this->dir/$key/expires");
        @rmdir("$this->dir/$key");
    }
}

if (($_SERVER['REQUEST_METHOD'] ?? '') !== 'POST') {
    http_response_code(405);
    exit;
}

$credentials = [Credentials::fromEnv()];
$previous = getenv('YUNXIN_APP_SECRET_PREVIOUS');
if (is_string($previous) && $previous !== '') {
    $credentials[] = new Credentials($credentials[0]->appKey(), $previous);
}
$verifier = new CallbackVerifier($credentials);
$guard = new DeliveryGuard(new DirectoryStore(sys_get_temp_dir() . '/yunxin-ecp-deliveries'));

// The body from php://input and the headers of this request; a framework controller passes its
// own: handleRequest($handler, $guard, $request->getContent(), $request->headers->all()).
$verifier->handleRequest(function (array $event, Delivery $delivery): void {
    if ($event['type'] !== 'call_end' || $event['session'] === null) {
        return; // other events (IM) may reach the same URL: acknowledged untouched
    }
    // A repeat the service signs afresh is a new delivery: the first mkdir for a session wins.
    $seen = sys_get_temp_dir() . '/yunxin-ecp-callbacks';
    @mkdir($seen, 0700);
    if (@mkdir($seen . '/' . bin2hex($event['session']))) {
        $line = json_encode([
            'session' => $event['session'],
            'answered' => $event['answered'],
            'duration_sec' => $event['duration_sec'],
            'billed_minutes' => $event['billed_minutes'],
            'cost_fen' => $event['cost_fen'],
        ]);
        $log = getenv('YUNXIN_CALLBACK_LOG');
        if ($log) {
            file_put_contents($log, $line . "\n", FILE_APPEND | LOCK_EX);
        }
        error_log("call ended: $line (credentials {$delivery->credential})");
    }
}, $guard)->send();
