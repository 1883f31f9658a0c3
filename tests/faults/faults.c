/* The fault table's C side: every fault the mock can inject, against the blocking client of the
 * C API, for a start call and for a query. Prints one tab-separated ROW per case and DONE at the
 * end, for scripts/fault-table.py. The outcome words are the same in every language (see
 * tests/faults/faults.py). The last row says whether every call the mock placed had its call-end
 * callback received by the mock's inbox and verified. Built by tests/faults/build-c.sh. */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "yunxin_ecp.h"

/* The same faults, in the same order, as every other language's program. */
static const struct {
  const char *kind;
  uint64_t ms;
  size_t bytes;
} FAULTS[] = {
    {"delay", 1500, 0},
    {"reset_before_response", 0, 0},
    {"reset_mid_body", 0, 0},
    {"html_502", 0, 0},
    {"empty_body", 0, 0},
    {"garbage_json", 0, 0},
    {"oversized", 0, 4 * 1024 * 1024},
    {"rate_limited", 0, 0},
    {"server_error", 0, 0},
    {"busy_503", 0, 0},
    {"redirect", 0, 0},
};

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void sleep_ms(double ms) {
  if (ms <= 0) {
    return;
  }
  struct timespec ts;
  ts.tv_sec = (time_t)(ms / 1000.0);
  ts.tv_nsec = (long)((ms - (double)ts.tv_sec * 1000.0) * 1e6);
  while (nanosleep(&ts, &ts) != 0) {
  }
}

static const char *text(const char *s) { return s ? s : "?"; }

/* Writes a table cell for an outcome: `err` NULL means success. */
static void describe(const yx_error *err, char *out, size_t size) {
  if (err == NULL) {
    snprintf(out, size, "ok");
    return;
  }
  const char *advice = text(yx_retry_advice_code((int32_t)yx_error_retry_advice(err)));
  switch (yx_error_kind(err)) {
  case YX_API:
    snprintf(out, size, "api %lld [%s]", (long long)yx_error_api_code(err), advice);
    break;
  case YX_PROTOCOL:
    snprintf(out, size, "protocol %s [%s]", text(yx_error_reason(err)), advice);
    break;
  case YX_TRANSPORT:
    snprintf(out, size, "transport %s sent=%s [%s]", text(yx_error_reason(err)),
             yx_error_maybe_sent(err) ? "true" : "false", advice);
    break;
  default:
    snprintf(out, size, "%s [%s]", text(yx_result_code((int32_t)yx_error_kind(err))), advice);
    break;
  }
}

/* A copy (free with free()) of the session of a received callback that verifies as a call
 * end; NULL otherwise. */
static char *verified_session(const yx_callback_verifier *verifier,
                              const yx_received_callback *received) {
  yx_callback_event *event = NULL;
  yx_call_record *record = NULL;
  char *session = NULL;
  if (yx_callback_verifier_verify_and_parse_now(
          verifier, yx_received_callback_body(received), yx_received_callback_body_len(received),
          yx_received_callback_headers(received), yx_received_callback_header_count(received),
          &event, NULL) == YX_OK &&
      yx_callback_event_kind(event) == YX_EVENT_CALL_END &&
      yx_callback_event_record(event, &record, NULL) == YX_OK &&
      yx_call_record_session(record) != NULL) {
    session = strdup(yx_call_record_session(record));
  }
  yx_call_record_free(record);
  yx_callback_event_free(event);
  return session;
}

/* Waits for the callback of every call the mock placed and verifies each: "all N verified",
 * else how many were lost or refused. */
static void callbacks_outcome(const yx_mock_server *mock, const yx_callback_verifier *verifier,
                              char *out, size_t size) {
  size_t placed = (size_t)yx_mock_server_session_count(mock);
  size_t received = 0;
  if (yx_mock_server_wait_for_inbox(mock, placed, 10000, &received, NULL) != YX_OK) {
    received = 0;
  }
  char **sessions = calloc(received + 1, sizeof *sessions);
  size_t distinct = 0;
  size_t refused = 0;
  for (size_t i = 0; sessions != NULL && i < received; i++) {
    yx_received_callback *callback = NULL;
    char *session = NULL;
    if (yx_mock_server_inbox_get(mock, i, &callback, NULL) == YX_OK) {
      session = verified_session(verifier, callback);
    }
    yx_received_callback_free(callback);
    if (session == NULL) {
      refused++;
      continue;
    }
    int seen = 0;
    for (size_t j = 0; j < distinct; j++) {
      seen |= strcmp(sessions[j], session) == 0;
    }
    if (seen) {
      free(session);
    } else {
      sessions[distinct++] = session;
    }
  }
  for (size_t j = 0; j < distinct; j++) {
    free(sessions[j]);
  }
  free(sessions);
  size_t lost = placed > distinct ? placed - distinct : 0;
  if (lost == 0 && refused == 0) {
    snprintf(out, size, "all %zu verified", placed);
  } else {
    snprintf(out, size, "%zu lost, %zu refused of %zu", lost, refused, placed);
  }
}

/* Reports a failed setup step and frees its error. */
static void failed(const char *step, yx_error *err) {
  fprintf(stderr, "%s: %s\n", step, text(yx_error_message(err)));
  yx_error_free(err);
}

int main(void) {
  int ok = 0;
  yx_error *err = NULL;
  yx_mock_server *mock = NULL;
  yx_credentials *creds = NULL;
  yx_client_builder *builder = NULL;
  yx_client *client = NULL;
  yx_request *call = NULL;
  yx_request *query = NULL;
  yx_callback_verifier *verifier = NULL;
  char *session = NULL;

  if (yx_abi_version() != YX_ABI_VERSION) {
    fprintf(stderr, "libyunxin_ecp has ABI %u, this program was built for %d\n",
            (unsigned)yx_abi_version(), YX_ABI_VERSION);
    return 1;
  }
  if (yx_mock_server_start(&mock, &err) != YX_OK ||
      yx_mock_server_set_callback_url(mock, yx_mock_server_inbox_url(mock), &err) != YX_OK) {
    failed("mock server", err);
    goto done;
  }
  if (yx_credentials_new(yx_mock_sample_app_key(), yx_mock_sample_app_secret(), &creds, &err) !=
          YX_OK ||
      yx_callback_verifier_new(creds, 300000, &verifier, &err) != YX_OK ||
      yx_client_builder_new(creds, &builder, &err) != YX_OK ||
      yx_client_builder_set_base_url(builder, yx_mock_server_base_url(mock), &err) != YX_OK ||
      yx_client_builder_set_timeout_ms(builder, 1000, &err) != YX_OK ||
      yx_client_builder_set_connect_timeout_ms(builder, 1000, &err) != YX_OK ||
      yx_client_builder_set_backoff_ms(builder, 50, &err) != YX_OK ||
      yx_client_builder_build(builder, &client, &err) != YX_OK) {
    failed("client", err);
    goto done;
  }
  if (yx_start_call_new("liuxuanlin", "13888888888", "13777777777", 100, &call, &err) != YX_OK ||
      yx_client_start(client, call, &session, &err) != YX_OK ||
      yx_query_new(session, YX_SESSION_CALL, &query, &err) != YX_OK) {
    failed("first call", err);
    goto done;
  }

  for (size_t f = 0; f < sizeof FAULTS / sizeof FAULTS[0]; f++) {
    for (int start = 1; start >= 0; start--) {
      if (yx_mock_server_clear_faults(mock, &err) != YX_OK ||
          yx_mock_server_inject_fault(mock, FAULTS[f].kind, 1, FAULTS[f].ms, FAULTS[f].bytes,
                                      &err) != YX_OK) {
        failed(FAULTS[f].kind, err);
        goto done;
      }
      yx_error *outcome = NULL;
      double began = now_ms();
      if (start) {
        char *started = NULL;
        if (yx_client_start(client, call, &started, &outcome) == YX_OK) {
          yx_string_free(started);
        }
      } else {
        yx_call_record *record = NULL;
        if (yx_client_query(client, query, &record, &outcome) == YX_OK) {
          yx_call_record_free(record);
        }
      }
      double took = now_ms() - began;
      char cell[256];
      describe(outcome, cell, sizeof cell);
      yx_error_free(outcome);
      printf("ROW\t%s\t%s\t%s\t%.0f\n", FAULTS[f].kind, start ? "start_call" : "query", cell,
             took);
      fflush(stdout);
      if (strcmp(FAULTS[f].kind, "delay") == 0) {
        sleep_ms(1600.0 - took); /* let the delayed request finish */
      }
    }
  }
  {
    /* Where the redirect fault pointed: nothing may have reached it, signed headers and all. */
    char *stats = NULL;
    if (yx_mock_server_stats_json(mock, &stats, &err) != YX_OK) {
      failed("stats", err);
      goto done;
    }
    json_t *parsed = json_loads(stats, 0, NULL);
    yx_string_free(stats);
    json_t *hits = json_object_get(parsed, "redirect_target_hits");
    if (!json_is_integer(hits)) {
      fprintf(stderr, "faults: no redirect_target_hits in the mock's stats\n");
      json_decref(parsed);
      goto done;
    }
    printf("ROW\tredirect\tlocation_host\t%lld requests\t0\n", (long long)json_integer_value(hits));
    json_decref(parsed);
  }
  {
    char cell[256];
    double began = now_ms();
    callbacks_outcome(mock, verifier, cell, sizeof cell);
    printf("ROW\tcallbacks\tdelivered\t%s\t%.0f\n", cell, now_ms() - began);
  }
  ok = 1;

done:
  yx_callback_verifier_free(verifier);
  yx_request_free(query);
  yx_string_free(session);
  yx_request_free(call);
  yx_client_free(client);
  yx_client_builder_free(builder);
  yx_credentials_free(creds);
  yx_mock_server_free(mock);
  if (!ok) {
    return 1;
  }
  printf("DONE\n");
  fflush(stdout);
  return 0;
}
