<?php
/**
 * The documentation's PHP sample (class ServerAPI, startcall and startconf), rewritten on
 * libyunxin_ecp.
 *
 * What changes, and why:
 * - The sample's checkSumBuilder() appends 128 characters to $this->Nonce on every call, so the
 *   second request of the same object carries a 256-character nonce and fails with 414. The
 *   library draws a fresh 32-character nonce from the OS CSPRNG for every attempt.
 * - The sample disables TLS verification (CURLOPT_SSL_VERIFYPEER false) and sets no usable
 *   timeout; the library verifies TLS and bounds every wait.
 * - The sample's fsockopen variant parses the answer by cutting the text between the first "{"
 *   and the last "}"; the library reads the JSON envelope and reports an HTML error page or a
 *   truncated body as such.
 * - Errors become exceptions with the service's code and what to do next: a start that may
 *   have reached the service is never sent again automatically (it is billable).
 *
 *   php examples/php/server_api.php              runs against an in-process mock
 *   php examples/php/server_api.php BASE_URL     runs against BASE_URL (e.g.
 *       https://api.netease.im) with YUNXIN_APP_KEY and YUNXIN_APP_SECRET from the environment
 */

declare(strict_types=1);

require dirname(__DIR__, 2) . '/php/YunxinEcp.php';

use YunxinEcp\ApiException;
use YunxinEcp\Client;
use YunxinEcp\Credentials;
use YunxinEcp\Exception as EcpException;
use YunxinEcp\MockServer;
use YunxinEcp\SessionKind;

final class ServerAPI
{
    private Client $client;

    public function __construct(Credentials $credentials, string $baseUrl = 'https://api.netease.im')
    {
        // One client per process: it pools connections. Timeouts in milliseconds.
        $this->client = new Client($credentials, [
            'base_url' => $baseUrl,
            'connect_timeout_ms' => 5000,
            'timeout_ms' => 15000,
        ]);
    }

    /** 发起单人专线电话: rings $caller, then $callee; returns the session id. */
    public function startcall(string $callerAcc, string $caller, string $callee, int $maxDur): string
    {
        return $this->client->startCall($callerAcc, $caller, $callee, $maxDur);
    }

    /**
     * 发起专线会议: $callee is a PHP list, sent as a real JSON array; returns the session id.
     *
     * @param list<string> $callee
     */
    public function startconf(string $callerAcc, string $caller, array $callee, int $maxDur): string
    {
        return $this->client->startConf($callerAcc, $caller, $callee, $maxDur);
    }

    /** @return array<string, mixed> the record of a call or conference */
    public function queryBySession(string $session, int $type): array
    {
        return $this->client->query($session, $type);
    }
}

$mock = null;
if (isset($argv[1])) {
    $api = new ServerAPI(Credentials::fromEnv(), $argv[1]);
} else {
    $mock = MockServer::start();
    // The sample's own AppKey and AppSecret, which the mock accepts.
    $api = new ServerAPI(new Credentials(MockServer::sampleAppKey(), MockServer::sampleAppSecret()), $mock->baseUrl());
}

try {
    // The sample's two calls, on the same object: the second one works too.
    $call = $api->startcall('liuxuanlin', '13095088501', '18085997799', 100);
    echo "startcall: session $call\n";
    $conf = $api->startconf('liuxuanlin', '13777777777', ['13888888888', '13666666666'], 100);
    echo "startconf: session $conf\n";

    $record = $api->queryBySession($conf, SessionKind::CONFERENCE);
    // "status":"SUCCESS" comes even when nobody answered: "answered" is durationSec > 0.
    printf("conference members %s, answered: %s, billed %d min (%d fen)\n",
        implode(',', $record['members']), $record['answered'] ? 'yes' : 'no',
        $record['billed_minutes'], $record['cost_fen']);
} catch (ApiException $e) {
    fprintf(STDERR, "the service said %d: %s (retry: %s)\n", $e->getCode(), $e->getMessage(), $e->retryAdvice());
    exit(1);
} catch (EcpException $e) {
    fprintf(STDERR, "%s error: %s\n", $e->kind(), $e->getMessage());
    if ($e->retryAdvice() === 'outcome_unknown') {
        fprintf(STDERR, "the call may have been placed: query it before trying again\n");
    }
    exit(1);
} finally {
    $mock?->stop();
}
