/* The fault table's C side: every fault the mock can inject, against the blocking client of the
 * C API, for a start call and for a query. Prints one tab-separated ROW per case and DONE at the
 * end, for scripts/fault-table.py. The outcome words are the same in every language (see
 * tests/faults/faults.py). Built by tests/faults/build-c.sh. */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

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
  char *session = NULL;

  if (yx_abi_version() != YX_ABI_VERSION) {
    fprintf(stderr, "libyunxin_ecp has ABI %u, this program was built for %d\n",
            (unsigned)yx_abi_version(), YX_ABI_VERSION);
    return 1;
  }
  if (yx_mock_server_start(&mock, &err) != YX_OK) {
    failed("mock server", err);
    goto done;
  }
  if (yx_credentials_new(yx_mock_sample_app_key(), yx_mock_sample_app_secret(), &creds, &err) !=
          YX_OK ||
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
  ok = 1;

done:
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
