/*
 * Placing a call and querying it on libcurl, with the library's exchange deciding everything
 * but the I/O: a program that already has its own HTTP stack (libcurl here; an event loop, a
 * proxy layer) keeps it and still gets the library's signing, redirect refusal, size cap,
 * retries and "may this call exist?" answers, exactly those of yx_client_start().
 *
 * The loop is the one in yunxin_ecp.h at yx_exchange: send what yx_exchange_send() prepares
 * within its limits, feed back what happened (an answer, an answer over the size cap, or no
 * answer and whether the request may have left), wait when told to, stop when done.
 *
 *   exchange_curl              runs against an in-process mock of the ECP API, which is told
 *                              to refuse the first start as rate limited and to pad the first
 *                              query's answer past the size cap: both are retried
 *   exchange_curl https://api.netease.im
 *                              runs against the real service, with YUNXIN_APP_KEY and
 *                              YUNXIN_APP_SECRET from the environment (costs money)
 *
 * Built by the Makefile and CMakeLists.txt here when libcurl's development files are found
 * (Debian: libcurl4-openssl-dev).
 */
/* nanosleep (POSIX), which strict C11 does not declare. */
#define _POSIX_C_SOURCE 200809L
#include <yunxin_ecp.h>

#include <curl/curl.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The answer's body, read up to the attempt's cap. */
struct body {
  char *data;
  size_t len;
  uint64_t cap;
  int over; /* 1 once the answer went past the cap */
};

/* libcurl's write callback: keeps the body, or stops the transfer (by returning less than it
 * was given) as soon as the answer is longer than the cap, rather than reading it all. */
static size_t on_body(char *data, size_t size, size_t count, void *userdata) {
  struct body *b = (struct body *)userdata;
  size_t n = size * count;
  char *grown;
  if ((uint64_t)b->len + n > b->cap) {
    b->over = 1;
    return 0;
  }
  grown = (char *)realloc(b->data, b->len + n + 1);
  if (grown == NULL) {
    return 0;
  }
  memcpy(grown + b->len, data, n);
  b->data = grown;
  b->len += n;
  return n;
}

static void sleep_ms(int64_t ms) {
  struct timespec t;
  t.tv_sec = (time_t)(ms / 1000);
  t.tv_nsec = (long)(ms % 1000) * 1000000L;
  nanosleep(&t, NULL);
}

/* What the exchange logged since the last step (a JSON array of {"level","line"}), to stderr:
 * a real program hands each line to its own logger. The lines hold no header, body or
 * secret. */
static void log_events(yx_exchange *ex) {
  char *events = NULL;
  if (yx_exchange_events_json(ex, &events, NULL) == YX_OK) {
    if (strcmp(events, "[]") != 0) {
      fprintf(stderr, "events: %s\n", events);
    }
    yx_string_free(events);
  }
}

/* How many bytes of request libcurl sent, over all its tries of this transfer. */
static long request_size(CURL *curl) {
  long sent = -1;
  if (curl_easy_getinfo(curl, CURLINFO_REQUEST_SIZE, &sent) != CURLE_OK) {
    return -1; /* unknown: counted as sent */
  }
  return sent;
}

/* One attempt over libcurl, fed back to the exchange: writes the wait before the next
 * attempt, or -1 and the answer when the exchange is done. */
static yx_result attempt(CURL *curl, yx_exchange *ex, const yx_prepared_request *req,
                         const yx_attempt_limits *limits, int64_t *wait_ms, char **answer,
                         yx_error **err) {
  const yx_headers *headers = yx_prepared_request_headers(req);
  struct curl_slist *list = NULL, *appended;
  struct body b = {NULL, 0, limits->max_response_bytes, 0};
  char line[1024];
  char user_agent[64];
  long status = 0;
  curl_off_t micros = 0;
  char *location = NULL;
  uint64_t elapsed_ms;
  CURLcode rc;
  yx_result r;
  size_t i;

  for (i = 0; i < yx_headers_count(headers); i++) {
    snprintf(line, sizeof line, "%s: %s", yx_headers_name(headers, i), yx_headers_value(headers, i));
    appended = curl_slist_append(list, line);
    if (appended == NULL) {
      curl_slist_free_all(list);
      return yx_exchange_fail(ex, YX_TRANSPORT_IO, 0, "out of memory", 0, wait_ms, answer, err);
    }
    list = appended;
  }
  snprintf(user_agent, sizeof user_agent, "yunxin-ecp/%s libcurl", yx_version());

  curl_easy_reset(curl);
  curl_easy_setopt(curl, CURLOPT_URL, yx_prepared_request_url(req));
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, yx_prepared_request_body(req));
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, user_agent);
  /* Never follow a redirect: that would send the signed headers to another host, and a start
   * a second time. The 3xx goes to the exchange, which refuses it. */
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, (long)limits->connect_timeout_ms);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)limits->timeout_ms);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &b);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  /* A fresh connection per attempt, never kept: on a reused connection that the server closes
   * after the request was sent, libcurl silently sends the POST again on a new one (a start
   * placed twice, with the exchange seeing one attempt). */
  curl_easy_setopt(curl, CURLOPT_FRESH_CONNECT, 1L);
  curl_easy_setopt(curl, CURLOPT_FORBID_REUSE, 1L);
  /* The mock is local: never through a proxy from the environment. */
  curl_easy_setopt(curl, CURLOPT_NOPROXY, "127.0.0.1,localhost");

  rc = curl_easy_perform(curl);
  curl_slist_free_all(list);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_getinfo(curl, CURLINFO_TOTAL_TIME_T, &micros);
  elapsed_ms = (uint64_t)micros / 1000;

  if (rc == CURLE_OK) {
    /* Only a 3xx's Location is used: to name where the refused redirect pointed. */
    curl_easy_getinfo(curl, CURLINFO_REDIRECT_URL, &location);
    r = yx_exchange_receive(ex, (uint16_t)status, location, b.data, b.len, elapsed_ms, wait_ms,
                            answer, err);
  } else if (rc == CURLE_WRITE_ERROR && b.over) {
    r = yx_exchange_too_large(ex, (uint16_t)status, elapsed_ms, wait_ms, answer, err);
  } else if ((rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_COULDNT_CONNECT) &&
             request_size(curl) == 0) {
    /* The connection was never opened and not one byte of a request left: provably not sent.
     * (libcurl reports a connect failure of its own re-send the same way, with bytes sent.) */
    r = yx_exchange_fail(ex, YX_TRANSPORT_CONNECT, 0, curl_easy_strerror(rc), elapsed_ms, wait_ms,
                         answer, err);
  } else {
    /* Anything else may have come after the request left: a start may have placed a call.
     * (A TLS failure is counted as sent too: the cautious reading.) */
    int32_t kind = rc == CURLE_OPERATION_TIMEDOUT ? YX_TRANSPORT_TIMEOUT
                   : (rc == CURLE_SSL_CONNECT_ERROR || rc == CURLE_PEER_FAILED_VERIFICATION)
                       ? YX_TRANSPORT_TLS
                       : YX_TRANSPORT_IO;
    r = yx_exchange_fail(ex, kind, 1, curl_easy_strerror(rc), elapsed_ms, wait_ms, answer, err);
  }
  free(b.data);
  return r;
}

/* Drives an exchange to its end: YX_OK with the answer in *answer, or the error. Bounded: the
 * exchange refuses a send once done, and allows at most max_retries (at most 10) retries. */
static yx_result drive(CURL *curl, yx_exchange *ex, char **answer, yx_error **err) {
  yx_prepared_request *req = NULL;
  yx_attempt_limits limits;
  int64_t wait_ms = -1;
  yx_result r;
  while ((r = yx_exchange_send(ex, &req, &limits, err)) == YX_OK) {
    log_events(ex);
    r = attempt(curl, ex, req, &limits, &wait_ms, answer, err);
    yx_prepared_request_free(req);
    log_events(ex);
    if (r != YX_OK || wait_ms < 0) {
      break; /* done: the error in *err, or the answer */
    }
    sleep_ms(wait_ms);
  }
  return r;
}

/* Writes the settings, a JSON object with `base_url` and then `rest`. A URL holds only URI
 * characters, none of which JSON escapes, so one that holds any other is refused here. 0 if
 * refused or too long. */
static int exchange_settings(char *out, size_t size, const char *base_url, const char *rest) {
  static const char uri_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                  "0123456789-._~:/?#[]@!$&'()*+,;=%";
  int n;
  if (base_url[strspn(base_url, uri_chars)] != '\0') {
    return 0;
  }
  n = snprintf(out, size, "{\"base_url\":\"%s\"%s}", base_url, rest);
  return n > 0 && (size_t)n < size;
}

/* Prints an error the way a log line should read, and frees it. */
static int report(const char *what, yx_error *err) {
  fprintf(stderr, "%s failed: %s\n", what, yx_error_message(err));
  if (yx_error_retry_advice(err) == YX_RETRY_OUTCOME_UNKNOWN) {
    fprintf(stderr, "  it may have taken effect: query before sending it again\n");
  }
  yx_error_free(err);
  return 1;
}

/* Tells the mock to apply a fault to the next request(s). */
static int mock_fault(yx_mock_server *mock, const char *form) {
  char *reply = NULL;
  yx_error *err = NULL;
  if (yx_mock_server_control(mock, "POST", "/_mock/fault", form, &reply, &err) != YX_OK) {
    return report("steering the mock", err);
  }
  yx_string_free(reply);
  return 0;
}

int main(int argc, char **argv) {
  yx_mock_server *mock = NULL;
  yx_credentials *creds = NULL;
  yx_request *call = NULL, *query = NULL;
  yx_exchange *ex = NULL;
  yx_call_record *record = NULL;
  yx_error *err = NULL;
  char *session = NULL, *record_json = NULL;
  const char *base_url;
  char settings[1024];
  CURL *curl = NULL;
  int status = 1;

  if (yx_abi_version() != YX_ABI_VERSION) {
    fprintf(stderr, "libyunxin_ecp does not match yunxin_ecp.h\n");
    return 1;
  }
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    fprintf(stderr, "curl_global_init failed\n");
    return 1;
  }
  curl = curl_easy_init();
  if (curl == NULL) {
    fprintf(stderr, "curl_easy_init failed\n");
    goto done;
  }
  if (argc > 1) {
    base_url = argv[1];
    if (yx_credentials_from_env(&creds, &err) != YX_OK) {
      status = report("reading YUNXIN_APP_KEY and YUNXIN_APP_SECRET", err);
      goto done;
    }
  } else {
    if (yx_mock_server_start(&mock, &err) != YX_OK) {
      status = report("starting the mock", err);
      goto done;
    }
    base_url = yx_mock_server_base_url(mock);
    if (yx_credentials_new(yx_mock_sample_app_key(), yx_mock_sample_app_secret(), &creds, &err) !=
        YX_OK) {
      status = report("credentials", err);
      goto done;
    }
    /* The first start is refused as rate limited (nothing placed: sent again after a backoff);
     * the first query's answer is padded past the 64 KiB cap set below (a query is safe to
     * send again). */
    if (mock_fault(mock, "kind=rate_limited&times=1") != 0) {
      goto done;
    }
  }
  /* The same settings as yx_client_new() takes; a 64 KiB cap is ample for these answers. */
  if (!exchange_settings(settings, sizeof settings, base_url,
                         ",\"connect_timeout_ms\":5000,\"timeout_ms\":15000,"
                         "\"max_response_bytes\":65536")) {
    fprintf(stderr, "not a base URL (or too long): %s\n", base_url);
    goto done;
  }

  /* The call: accid liuxuanlin rings 13095088501, then 18085997799, for 100 s at most. */
  if (yx_start_call_new("liuxuanlin", "13095088501", "18085997799", 100, &call, &err) != YX_OK) {
    status = report("building the request", err);
    goto done;
  }
  /* NULL entropy: fresh nonces, the clock, random jitter (tests fix them instead). */
  if (yx_exchange_new(creds, call, settings, NULL, &ex, &err) != YX_OK) {
    status = report("starting the exchange", err);
    goto done;
  }
  if (drive(curl, ex, &session, &err) != YX_OK) {
    status = report("startcall", err);
    goto done;
  }
  printf("call placed: session %s\n", session);
  yx_exchange_free(ex);
  ex = NULL;

  if (mock != NULL && mock_fault(mock, "kind=oversized&bytes=100000&times=1") != 0) {
    goto done;
  }
  if (yx_query_new(session, YX_SESSION_CALL, &query, &err) != YX_OK) {
    status = report("building the query", err);
    goto done;
  }
  if (yx_exchange_new(creds, query, settings, NULL, &ex, &err) != YX_OK) {
    status = report("starting the exchange", err);
    goto done;
  }
  /* A query's answer is the record's JSON; yx_exchange_record() gives the record itself. */
  if (drive(curl, ex, &record_json, &err) != YX_OK) {
    status = report("queryBySession", err);
    goto done;
  }
  if (yx_exchange_record(ex, &record, &err) != YX_OK) {
    status = report("reading the record", err);
    goto done;
  }
  printf("record of %s: answered %d, %llu billed minute(s), %llu fen at 12 fen a minute\n",
         yx_call_record_session(record), (int)yx_call_record_answered(record),
         (unsigned long long)yx_call_record_billed_minutes(record),
         (unsigned long long)yx_call_record_cost_fen(record, 12));
  status = 0;

done:
  yx_call_record_free(record);
  yx_string_free(record_json);
  yx_string_free(session);
  yx_exchange_free(ex);
  yx_request_free(query);
  yx_request_free(call);
  yx_credentials_free(creds);
  yx_mock_server_free(mock);
  curl_easy_cleanup(curl);
  curl_global_cleanup();
  return status;
}
