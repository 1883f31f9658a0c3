<?php
/**
 * The fault table's PHP side: every fault the mock can inject, against YunxinEcp\Client (PHP's
 * FFI and php/YunxinEcp.php), for a start call and for a query. Prints one tab-separated ROW per
 * case and DONE at the end, for scripts/fault-table.py. The outcome words are the same in every
 * language (see tests/faults/faults.py). The last row says whether every call the mock placed
 * had its call-end callback received by the mock's inbox and verified. The library comes from
 * YUNXIN_ECP_LIB.
 */

declare(strict_types=1);

require dirname(__DIR__, 2) . '/php/YunxinEcp.php';

use YunxinEcp\ApiException;
use YunxinEcp\CallbackException;
use YunxinEcp\CallbackVerifier;
use YunxinEcp\Client;
use YunxinEcp\Credentials;
use YunxinEcp\DeliveryGuard;
use YunxinEcp\MockServer;
use YunxinEcp\ProtocolException;
use YunxinEcp\SessionKind;
use YunxinEcp\TransportException;

// [kind, ms, bytes]: the same faults, in the same order, as every other language's program.
const FAULTS = [
    ['delay', 1500, 0],
    ['reset_before_response', 0, 0],
    ['reset_mid_body', 0, 0],
    ['html_502', 0, 0],
    ['empty_body', 0, 0],
    ['garbage_json', 0, 0],
    ['oversized', 0, 4 * 1024 * 1024],
    ['rate_limited', 0, 0],
    ['server_error', 0, 0],
    ['busy_503', 0, 0],
    ['redirect', 0, 0],
];

function describe(?YunxinEcp\Exception $error): string
{
    if ($error === null) {
        return 'ok';
    }
    $advice = $error->retryAdvice();
    if ($error instanceof ApiException) {
        return "api {$error->apiCode()} [$advice]";
    }
    if ($error instanceof ProtocolException) {
        return "protocol {$error->reason()} [$advice]";
    }
    if ($error instanceof TransportException) {
        $sent = $error->maybeSent() ? 'true' : 'false';
        return "transport {$error->reason()} sent=$sent [$advice]";
    }
    return "{$error->kind()} [$advice]";
}

/** Waits for the callback of every call the mock placed and verifies each. */
function callbacks_outcome(MockServer $mock, CallbackVerifier $verifier): string
{
    $placed = $mock->sessionCount();
    $verified = [];
    $refused = 0;
    foreach ($mock->waitForInbox($placed, 10000) as $post) {
        try {
            $event = $verifier->verifyAndParse($post['body'], $post['headers']);
        } catch (CallbackException $e) {
            $refused++;
            continue;
        }
        if ($event['type'] === 'call_end' && is_string($event['session'] ?? null)) {
            $verified[$event['session']] = true;
        } else {
            $refused++;
        }
    }
    $lost = max(0, $placed - count($verified));
    return $lost === 0 && $refused === 0
        ? "all $placed verified"
        : "$lost lost, $refused refused of $placed";
}

/**
 * The first callback received, delivered twice to a handler behind the duplicate guard, as a
 * sender that got no answer in time delivers it again: "handled 1 of 2 deliveries".
 */
function duplicate_outcome(MockServer $mock, CallbackVerifier $verifier): string
{
    $first = $mock->waitForInbox(1, 10000)[0] ?? null;
    if ($first === null) {
        return 'no callback received';
    }
    $guard = new DeliveryGuard();
    $handled = 0;
    for ($delivered = 0; $delivered < 2; $delivered++) {
        try {
            $delivery = $verifier->verify($first['body'], $first['headers']);
        } catch (CallbackException $e) {
            return 'refused';
        }
        if ($guard->claim($delivery) === 'first') {
            $handled++; // the handler
            $guard->complete($delivery);
        }
    }
    return "handled $handled of 2 deliveries";
}

function main(): void
{
    $mock = MockServer::start();
    $mock->setCallbackUrl($mock->inboxUrl());
    $credentials = new Credentials(MockServer::sampleAppKey(), MockServer::sampleAppSecret());
    $verifier = new CallbackVerifier($credentials);
    $client = new Client(
        $credentials,
        [
            'base_url' => $mock->baseUrl(),
            'timeout_ms' => 1000,
            'connect_timeout_ms' => 1000,
            'backoff_ms' => 50,
        ],
    );
    $call = ['liuxuanlin', '13888888888', '13777777777', 100];
    $session = $client->startCall(...$call);
    foreach (FAULTS as [$kind, $ms, $bytes]) {
        foreach (['start_call', 'query'] as $operation) {
            $mock->clearFaults();
            $mock->injectFault($kind, 1, $ms, $bytes);
            $began = hrtime(true);
            $error = null;
            try {
                if ($operation === 'start_call') {
                    $client->startCall(...$call);
                } else {
                    $client->query($session, SessionKind::CALL);
                }
            } catch (YunxinEcp\Exception $e) {
                $error = $e;
            }
            $took = (hrtime(true) - $began) / 1e6;
            printf("ROW\t%s\t%s\t%s\t%.0f\n", $kind, $operation, describe($error), $took);
            fflush(STDOUT);
            if ($kind === 'delay') {
                usleep((int) max(0, (1600 - $took) * 1000)); // let the delayed request finish
            }
        }
    }
    // Where the redirect fault pointed: nothing may have reached it, signed headers and all.
    printf("ROW\tredirect\tlocation_host\t%d requests\t0\n", $mock->stats()['redirect_target_hits']);
    $began = hrtime(true);
    $outcome = callbacks_outcome($mock, $verifier);
    printf("ROW\tcallbacks\tdelivered\t%s\t%.0f\n", $outcome, (hrtime(true) - $began) / 1e6);
    $began = hrtime(true);
    $duplicate = duplicate_outcome($mock, $verifier);
    printf("ROW\tduplicate_delivery\thandler\t%s\t%.0f\n", $duplicate, (hrtime(true) - $began) / 1e6);
    unset($client);
    $mock->stop();
    echo "DONE\n";
    fflush(STDOUT);
}

main();
