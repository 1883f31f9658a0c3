/*
 * The documentation's "start conference" sample (ServerAPI::startconf), rewritten with
 * libyunxin_ecp, followed by the query the samples never show.
 *
 * The Java and C# samples send the callee list as ['137...','136...'] (single quotes: not
 * JSON) in the query string with an empty body and a header named "ContentType". Here the list
 * is a C array, serialized as a real JSON array in a form body; 2 to 7 distinct callees, none
 * equal to the caller, are checked before anything is sent.
 *
 *   start_conf                 runs against an in-process mock of the ECP API
 *   start_conf BASE_URL        runs against BASE_URL with YUNXIN_APP_KEY / YUNXIN_APP_SECRET
 */
#include <yunxin_ecp.h>

#include <inttypes.h>
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

static int report(const char *what, yx_error *err) {
  fprintf(stderr, "%s failed: %s\n", what, yx_error_message(err));
  yx_error_free(err);
  return 1;
}

int main(int argc, char **argv) {
  const char *callees[] = {"13888888888", "13666666666"};
  yx_mock_server *mock = NULL;
  yx_credentials *creds = NULL;
  yx_client *client = NULL;
  yx_request *conf = NULL, *query = NULL;
  yx_call_record *record = NULL;
  yx_error *err = NULL;
  char *session = NULL, *record_json = NULL;
  const char *base_url;
  char settings[1024];
  int status = 1;

  if (argc > 1) {
    base_url = argv[1];
    if (yx_credentials_from_env(&creds, &err) != YX_OK) {
      return report("reading the credentials", err);
    }
  } else {
    if (yx_mock_server_start(&mock, &err) != YX_OK) {
      return report("starting the mock", err);
    }
    base_url = yx_mock_server_base_url(mock);
    if (yx_credentials_new(yx_mock_sample_app_key(), yx_mock_sample_app_secret(), &creds, &err) !=
        YX_OK) {
      status = report("credentials", err);
      goto done;
    }
  }
  /* Every other setting (timeouts, retries) keeps its default. */
  if (!client_settings(settings, sizeof settings, base_url, "")) {
    fprintf(stderr, "not a base URL (or too long): %s\n", base_url);
    goto done;
  }
  if (yx_client_new(creds, settings, &client, &err) != YX_OK) {
    status = report("building the client", err);
    goto done;
  }

  /* The sample's conference: liuxuanlin, 13777777777 calling two others, 100 s at most. */
  if (yx_start_conf_new("liuxuanlin", "13777777777", callees, 2, 100, &conf, &err) != YX_OK) {
    status = report("building the request", err);
    goto done;
  }
  if (yx_client_start(client, conf, &session, &err) != YX_OK) {
    status = report("startconf", err);
    goto done;
  }
  printf("conference placed: session %s\n", session);

  /* Its record: the same as the call-end callback will carry. */
  if (yx_query_new(session, YX_SESSION_CONFERENCE, &query, &err) != YX_OK ||
      yx_client_query(client, query, &record, &err) != YX_OK) {
    status = report("queryBySession", err);
    goto done;
  }
  /* "status":"SUCCESS" says nothing about anyone answering: durationSec does. */
  printf("answered: %s, billed %" PRIu64 " min, %" PRIu64 " fen\n",
         yx_call_record_answered(record) ? "yes" : "no", yx_call_record_billed_minutes(record),
         yx_call_record_cost_fen(record, 12));
  /* Everything else (members, legs, times, the record as the service sent it) is in its JSON,
   * for a JSON library or a log. */
  if (yx_call_record_to_json(record, &record_json, &err) != YX_OK) {
    status = report("reading the record", err);
    goto done;
  }
  printf("record: %s\n", record_json);
  status = 0;

done:
  yx_string_free(record_json);
  yx_string_free(session);
  yx_call_record_free(record);
  yx_request_free(query);
  yx_request_free(conf);
  yx_client_free(client);
  yx_credentials_free(creds);
  yx_mock_server_free(mock);
  return status;
}
