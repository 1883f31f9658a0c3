/*
 * The documentation's "start call" sample (ServerAPI::startcall), rewritten with libyunxin_ecp.
 *
 * The sample builds the CheckSum by hand: a nonce that grows by 128 characters on every call
 * (so the second call of the same object fails with 414), TLS verification switched off, no
 * timeout worth the name, and the answer parsed by cutting the text between the first "{" and
 * the last "}". Here the library signs every attempt afresh, validates the numbers before
 * anything is sent, verifies TLS, bounds every wait, never resends a billable start that may
 * have been placed, and reports errors with the service's code and what to do next.
 *
 *   start_call                 runs against an in-process mock of the ECP API
 *   start_call https://api.netease.im
 *                              runs against the real service, with YUNXIN_APP_KEY and
 *                              YUNXIN_APP_SECRET from the environment (costs money)
 */
#include <yunxin_ecp.h>

#include <stdio.h>
#include <string.h>

/* Writes the client's settings, a JSON object with `base_url` and then `rest` (more members,
 * or ""). A URL holds only URI characters, none of which JSON escapes, so one that holds any
 * other is refused here (the library would refuse it as a URL too). 0 if refused or too long. */
static int client_settings(char *out, size_t size, const char *base_url, const char *rest) {
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
  if (yx_error_kind(err) == YX_API) {
    fprintf(stderr, "  service code %lld (%s)\n", (long long)yx_error_api_code(err),
            yx_code_meaning(yx_error_api_code(err)));
  }
  if (yx_error_retry_advice(err) == YX_RETRY_OUTCOME_UNKNOWN) {
    fprintf(stderr, "  the call may have been placed: query it before trying again\n");
  }
  yx_error_free(err);
  return 1;
}

int main(int argc, char **argv) {
  yx_mock_server *mock = NULL;
  yx_credentials *creds = NULL;
  yx_client *client = NULL;
  yx_request *call = NULL;
  yx_error *err = NULL;
  char *session = NULL;
  const char *base_url;
  char settings[1024];
  int status = 1;

  if (yx_abi_version() != YX_ABI_VERSION) {
    fprintf(stderr, "libyunxin_ecp does not match yunxin_ecp.h\n");
    return 1;
  }
  if (argc > 1) {
    base_url = argv[1];
    if (yx_credentials_from_env(&creds, &err) != YX_OK) {
      return report("reading YUNXIN_APP_KEY and YUNXIN_APP_SECRET", err);
    }
  } else {
    if (yx_mock_server_start(&mock, &err) != YX_OK) {
      return report("starting the mock", err);
    }
    base_url = yx_mock_server_base_url(mock);
    /* The sample's own app key and secret, which the mock accepts. */
    if (yx_credentials_new(yx_mock_sample_app_key(), yx_mock_sample_app_secret(), &creds, &err) !=
        YX_OK) {
      status = report("credentials", err);
      goto done;
    }
  }

  /* One client per process; it pools connections and may be shared by threads. Its settings
   * are JSON; a URL that is no http:// or https:// URL is refused here, naming base_url. */
  if (!client_settings(settings, sizeof settings, base_url,
                       ",\"connect_timeout_ms\":5000,\"timeout_ms\":15000")) {
    fprintf(stderr, "not a base URL (or too long): %s\n", base_url);
    goto done;
  }
  if (yx_client_new(creds, settings, &client, &err) != YX_OK) {
    status = report("building the client", err);
    goto done;
  }

  /* The sample's call: accid liuxuanlin rings 13095088501, then 18085997799, for 100 s at most.
   * A number with +86, spaces or a wrong length is refused here, the message naming the field
   * and the rule. */
  if (yx_start_call_new("liuxuanlin", "13095088501", "18085997799", 100, &call, &err) != YX_OK) {
    status = report("building the request", err);
    goto done;
  }
  if (yx_client_start(client, call, &session, &err) != YX_OK) {
    status = report("startcall", err);
    goto done;
  }
  printf("call placed: session %s\n", session);
  /* A second call with the same client works: nothing grows, every attempt is signed afresh. */
  yx_string_free(session);
  session = NULL;
  if (yx_client_start(client, call, &session, &err) != YX_OK) {
    status = report("second startcall", err);
    goto done;
  }
  printf("second call placed: session %s\n", session);
  status = 0;

done:
  yx_string_free(session);
  yx_request_free(call);
  yx_client_free(client);
  yx_credentials_free(creds);
  yx_mock_server_free(mock);
  return status;
}
