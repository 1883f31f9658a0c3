/*
 * Receiving YunXin's call-end callback correctly.
 *
 * handle_callback() is what a web handler calls with the raw request body and headers: it
 * answers 200 for a genuine callback and 401 otherwise. The checks the samples get wrong:
 * the MD5 is over the raw body bytes (not re-serialized JSON), hex-encoded once (32 characters,
 * where the C# sample's getMD5 hex-encodes twice and gets 64); the CheckSum is
 * SHA1(AppSecret + MD5 + CurTime) with CurTime in milliseconds; both are compared in constant
 * time; CurTime must be recent; and delivery can repeat, so records are deduplicated on their
 * session.
 *
 * The demo places a call on the in-process mock with the mock's own inbox as callback URL,
 * then hands each received POST to handle_callback(), and a forged one too.
 */
#include <yunxin_ecp.h>

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* The web handler: 200 and the record for a genuine callback, 401 for anything else. */
static int handle_callback(const yx_callback_verifier *verifier, const void *body, size_t body_len,
                           const yx_header *headers, size_t header_count) {
  yx_callback_event *event = NULL;
  yx_call_record *record = NULL;
  yx_error *err = NULL;
  uint64_t seconds = 0;

  if (yx_callback_verifier_verify_and_parse_now(verifier, body, body_len, headers, header_count,
                                                &event, &err) != YX_OK) {
    fprintf(stderr, "refused (%s): %s\n", yx_error_reason(err), yx_error_message(err));
    yx_error_free(err);
    return 401;
  }
  if (yx_callback_event_kind(event) != YX_EVENT_CALL_END) {
    /* Other events (IM) can reach the same URL: acknowledge and pass them on untouched. */
    printf("event %s passed through\n", yx_callback_event_type(event));
    yx_callback_event_free(event);
    return 200;
  }
  if (yx_callback_event_record(event, &record, &err) == YX_OK) {
    yx_call_record_duration_sec(record, &seconds);
    /* A real handler stores the record keyed on its session: a repeated delivery is a no-op. */
    printf("call %s ended: answered %s, %" PRIu64 " s, %" PRIu64 " fen\n",
           yx_call_record_session(record), yx_call_record_answered(record) ? "yes" : "no",
           seconds, yx_call_record_cost_fen(record, 12));
    yx_call_record_free(record);
  } else {
    yx_error_free(err);
  }
  yx_callback_event_free(event);
  return 200;
}

/* Header names are case-insensitive (a server may hand them over in lower case). */
static int same_name(const char *a, const char *b) {
  for (; *a != '\0' && *b != '\0'; a++, b++) {
    char x = (*a >= 'A' && *a <= 'Z') ? (char)(*a - 'A' + 'a') : *a;
    char y = (*b >= 'A' && *b <= 'Z') ? (char)(*b - 'A' + 'a') : *b;
    if (x != y) {
      return 0;
    }
  }
  return *a == *b;
}

/* What the C# sample's getMD5 produces: the hex digest hex-encoded a second time. */
static void hex_encoded_twice(const char *md5, char out[65]) {
  static const char digits[] = "0123456789abcdef";
  size_t i;
  for (i = 0; i < 32; i++) {
    out[2 * i] = digits[((unsigned char)md5[i] >> 4) & 0x0f];
    out[2 * i + 1] = digits[(unsigned char)md5[i] & 0x0f];
  }
  out[64] = '\0';
}

int main(void) {
  yx_mock_server *mock = NULL;
  yx_credentials *creds = NULL;
  yx_callback_verifier *verifier = NULL;
  yx_client_builder *builder = NULL;
  yx_client *client = NULL;
  yx_request *call = NULL;
  yx_received_callback *received = NULL;
  yx_error *err = NULL;
  char *session = NULL;
  size_t count = 0, i;
  int status = 1, genuine, forged;

  if (yx_mock_server_start(&mock, &err) != YX_OK ||
      yx_credentials_new(yx_mock_sample_app_key(), yx_mock_sample_app_secret(), &creds, &err) !=
          YX_OK ||
      yx_callback_verifier_new(creds, yx_default_callback_tolerance_ms(), &verifier, &err) !=
          YX_OK ||
      yx_mock_server_set_callback_url(mock, yx_mock_server_inbox_url(mock), &err) != YX_OK ||
      yx_client_builder_new(creds, &builder, &err) != YX_OK ||
      yx_client_builder_set_base_url(builder, yx_mock_server_base_url(mock), &err) != YX_OK ||
      yx_client_builder_build(builder, &client, &err) != YX_OK ||
      yx_start_call_new("liuxuanlin", "13888888888", "13777777777", 100, &call, &err) != YX_OK ||
      yx_client_start(client, call, &session, &err) != YX_OK ||
      yx_mock_server_wait_for_inbox(mock, 1, 10000, &count, &err) != YX_OK ||
      yx_mock_server_inbox_get(mock, 0, &received, &err) != YX_OK) {
    fprintf(stderr, "setup failed: %s\n", yx_error_message(err));
    yx_error_free(err);
    goto done;
  }
  printf("placed %s; %zu callback(s) arrived\n", session, count);

  /* The genuine POST, bytes and headers exactly as received. */
  genuine = handle_callback(verifier, yx_received_callback_body(received),
                            yx_received_callback_body_len(received),
                            yx_received_callback_headers(received),
                            yx_received_callback_header_count(received));

  /* The same POST with the MD5 the C# sample would compute: refused. */
  {
    const yx_header *original = yx_received_callback_headers(received);
    size_t n = yx_received_callback_header_count(received);
    yx_header copy[16];
    char twice[65];
    int replaced = 0;
    for (i = 0; i < n && i < 16; i++) {
      copy[i] = original[i];
      if (same_name(copy[i].name, "MD5") && strlen(copy[i].value) == 32) {
        hex_encoded_twice(copy[i].value, twice);
        copy[i].value = twice;
        replaced = 1;
      }
    }
    if (!replaced) {
      fprintf(stderr, "the callback carried no MD5 header\n");
      goto done;
    }
    forged = handle_callback(verifier, yx_received_callback_body(received),
                             yx_received_callback_body_len(received), copy, i);
  }
  printf("genuine callback: HTTP %d; MD5 hex-encoded twice: HTTP %d\n", genuine, forged);
  status = (genuine == 200 && forged == 401) ? 0 : 1;

done:
  yx_received_callback_free(received);
  yx_string_free(session);
  yx_request_free(call);
  yx_client_free(client);
  yx_client_builder_free(builder);
  yx_callback_verifier_free(verifier);
  yx_credentials_free(creds);
  yx_mock_server_free(mock);
  return status;
}
