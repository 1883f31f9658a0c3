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
 * CheckSum and CurTime headers, answers 403 to anything forged or stale (400 to a body that is
 * not a callback, 413 to one over 1 MiB, read no further), deduplicates repeated deliveries on the session, and answers 200 quickly
 * (YunXin expects an answer within 5 s). YUNXIN_CALLBACK_LOG, when set, names a file that
 * receives one JSON line per new record.
 */

declare(strict_types=1);

require dirname(__DIR__, 2) . '/php/YunxinEcp.php';

use YunxinEcp\CallbackException;
use YunxinEcp\CallbackVerifier;
use YunxinEcp\Credentials;

if (($_SERVER['REQUEST_METHOD'] ?? '') !== 'POST') {
    http_response_code(405);
    exit;
}

$verifier = new CallbackVerifier(Credentials::fromEnv());
try {
    // The body from php://input and the headers of this request; a framework controller passes
    // its own: $verifier->verifyRequest($request->getContent(), $request->headers->all()).
    $event = $verifier->verifyRequest();
} catch (CallbackException $e) {
    // md5_mismatch, checksum_mismatch, stale, ...: never process an unverified record.
    error_log("callback refused ({$e->reason()}): {$e->getMessage()}");
    // 413 for a body over the cap (1 MiB, read no further), 400 for one that is not a
    // callback, 403 for anything forged or stale.
    http_response_code($e->answerStatus());
    exit;
}

if ($event['type'] === 'call_end' && $event['session'] !== null) {
    // Delivery can repeat: the first mkdir for a session wins, later ones see it exists.
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
        error_log("call ended: $line");
    }
}
// Other events (IM) may reach the same URL: acknowledge them untouched.
http_response_code(200);
