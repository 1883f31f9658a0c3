/*
 * Receiving YunXin's call-end callback correctly.
 *
 * handle_callback() is what a web handler calls with the raw request body and headers: it
 * answers with the library's status (200 for a genuine callback, handled once however often it
 * is delivered; 403 for a forged or stale one). The checks the samples get wrong: the MD5 is
 * over the raw body bytes (not re-serialized JSON), hex-encoded once (32 characters, where the C#
 * sample's getMD5 hex-encodes twice and gets 64); the CheckSum is SHA1(AppSecret + MD5 + CurTime)
 * with CurTime in milliseconds; both are compared in constant time; CurTime must be recent; and
 * delivery can repeat: the verifier gives each delivery a key, and a duplicate guard answers a
 * repeat 200 {"result":"duplicate"} without handling it again (409 while another request handles
 * it). The verifier takes the previous secret too, as during a rotation, and says which matched.
 *
 * The demo places a call on the in-process mock with a callback URL served by this program (a
 * minimal HTTP endpoint on 127.0.0.1, standing in for the web server), hands the POST it
 * receives to handle_callback() and answers with its status; then hands over the same POST
 * again (a repeat) and a forged copy.
 */
#define _POSIX_C_SOURCE 200809L

#include <yunxin_ecp.h>

#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* The library's status for `reason` ("duplicate", "in_progress", a refusal's reason); its JSON
 * body, which a real handler sends too, is printed here. */
static int answer_for(const char *reason) {
  uint16_t status = 500;
  char *body = NULL;
  if (yx_callback_answer(reason, &status, &body, NULL) == YX_OK) {
    printf("answer %u %s\n", status, body);
  }
  yx_string_free(body);
  return status;
}

/* The web handler: the record of a genuine callback handled once, and the status to answer. */
static int handle_callback(const yx_callback_verifier *verifier, yx_delivery_guard *guard,
                           const void *body, size_t body_len, const yx_pair *headers,
                           size_t header_count) {
  yx_callback_event *event = NULL;
  const yx_call_record *record;
  yx_delivery delivery;
  yx_error *err = NULL;
  int32_t claim = 0;
  int status;

  /* now_ms 0: CurTime is compared with the clock. */
  if (yx_callback_verifier_verify_delivery(verifier, body, body_len, headers, header_count, 0,
                                           &delivery, &event, &err) != YX_OK) {
    char *json = NULL, reason[64] = "refused";
    fprintf(stderr, "refused: %s\n", yx_error_message(err));
    /* The reason is the error JSON's "reason": an identifier ("md5_mismatch", "stale", ...). */
    if (yx_error_to_json(err, &json, NULL) == YX_OK) {
      const char *at = strstr(json, "\"reason\":\"");
      size_t length = at != NULL ? strcspn(at + 10, "\"") : 0;
      if (length > 0 && length < sizeof reason) {
        memcpy(reason, at + 10, length);
        reason[length] = '\0';
      }
    }
    status = answer_for(reason);
    yx_string_free(json);
    yx_error_free(err);
    return status;
  }
  printf("signed with credentials %u (0: the previous secret, 1: the current)\n",
         delivery.credential);
  /* Claimed before handling: a repeat of a delivery handled before is acknowledged unhandled. */
  if (yx_delivery_guard_claim(guard, delivery.key, delivery.expires_at_ms, 0, &claim, &err) !=
      YX_OK) {
    yx_error_free(err);
    yx_callback_event_free(event);
    return answer_for("store_unavailable");
  }
  if (claim != YX_CLAIM_FIRST) {
    yx_callback_event_free(event);
    return answer_for(claim == YX_CLAIM_DUPLICATE ? "duplicate" : "in_progress");
  }
  record = yx_callback_event_record(event); /* borrowed from the event; NULL for other events */
  if (record == NULL) {
    /* Other events (IM) can reach the same URL: acknowledge and pass them on untouched. */
    printf("another event passed through\n");
  } else {
    /* A repeat the service signs afresh is a new delivery: key your own records on the session. */
    printf("call %s ended: answered %s, billed %" PRIu64 " min, %" PRIu64 " fen\n",
           yx_call_record_session(record), yx_call_record_answered(record) ? "yes" : "no",
           yx_call_record_billed_minutes(record), yx_call_record_cost_fen(record, 12));
  }
  yx_callback_event_free(event);
  /* Handled: repeats are duplicates from now on (a handler that failed would release it). */
  yx_delivery_guard_complete(guard, delivery.key, delivery.expires_at_ms, NULL);
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

/* ---- the stand-in web server: just enough HTTP/1.1 to receive one POST ---- */

#define MAX_HEADERS 32

/* One received POST: its headers point into `head`, its body is `body_len` raw bytes. */
struct post {
  char head[8192];
  yx_pair headers[MAX_HEADERS];
  size_t header_count;
  char *body;
  size_t body_len;
};

/* A socket listening on 127.0.0.1 at a port the system picks, written to `port`; -1 on error. */
static int listen_locally(unsigned *port) {
  struct sockaddr_in address;
  socklen_t length = sizeof address;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  memset(&address, 0, sizeof address);
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || bind(fd, (struct sockaddr *)&address, sizeof address) != 0 ||
      listen(fd, 8) != 0 || getsockname(fd, (struct sockaddr *)&address, &length) != 0) {
    perror("listening on 127.0.0.1");
    if (fd >= 0) {
      close(fd);
    }
    return -1;
  }
  *port = ntohs(address.sin_port);
  return fd;
}

/* Reads from `fd` into `buf`, waiting at most ten seconds; what recv() returns. */
static ssize_t read_some(int fd, char *buf, size_t size) {
  struct pollfd ready = {fd, POLLIN, 0};
  if (poll(&ready, 1, 10000) != 1) {
    return -1;
  }
  return recv(fd, buf, size, 0);
}

/* Splits the header block of `post->head` into name/value pairs, in place. Returns the
 * Content-Length, or -1 when there is none. */
static long parse_headers(struct post *post) {
  char *line = strstr(post->head, "\r\n"); /* after the request line */
  long content_length = -1;
  while (line != NULL && line[2] != '\r' && post->header_count < MAX_HEADERS) {
    char *name = line + 2, *colon, *value;
    line = strstr(name, "\r\n");
    if (line == NULL || (colon = memchr(name, ':', (size_t)(line - name))) == NULL) {
      return -1;
    }
    *colon = '\0';
    *line = '\0';
    for (value = colon + 1; *value == ' ' || *value == '\t'; value++) {
    }
    post->headers[post->header_count].name = name;
    post->headers[post->header_count++].value = value;
    if (same_name(name, "Content-Length")) {
      content_length = strtol(value, NULL, 10);
    }
  }
  return content_length;
}

/* Accepts one connection and reads one POST from it (at most ten seconds). Returns the
 * connection, to answer on, or -1. */
static int receive_post(int listener, struct post *post) {
  struct pollfd ready = {listener, POLLIN, 0};
  size_t got = 0;
  char *end = NULL;
  long length;
  int fd;
  if (poll(&ready, 1, 10000) != 1 || (fd = accept(listener, NULL, NULL)) < 0) {
    fprintf(stderr, "no callback arrived\n");
    return -1;
  }
  while (end == NULL && got < sizeof post->head - 1) {
    ssize_t n = read_some(fd, post->head + got, sizeof post->head - 1 - got);
    if (n <= 0) {
      break;
    }
    got += (size_t)n;
    post->head[got] = '\0';
    end = strstr(post->head, "\r\n\r\n");
  }
  if (end == NULL || strncmp(post->head, "POST ", 5) != 0 ||
      (length = parse_headers(post)) < 0 || (post->body = malloc((size_t)length + 1)) == NULL) {
    fprintf(stderr, "not a POST with a Content-Length\n");
    close(fd);
    return -1;
  }
  /* What came after the headers is the start of the body. */
  post->body_len = got - (size_t)(end + 4 - post->head);
  if (post->body_len > (size_t)length) {
    post->body_len = (size_t)length;
  }
  memcpy(post->body, end + 4, post->body_len);
  while (post->body_len < (size_t)length) {
    ssize_t n = read_some(fd, post->body + post->body_len, (size_t)length - post->body_len);
    if (n <= 0) {
      fprintf(stderr, "the body was cut short\n");
      close(fd);
      return -1;
    }
    post->body_len += (size_t)n;
  }
  return fd;
}

/* Answers with an empty body and `status`, and closes the connection. */
static void answer(int fd, int status) {
  char response[128];
  int n = snprintf(response, sizeof response,
                   "HTTP/1.1 %d %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", status,
                   status == 200 ? "OK" : "Refused");
  if (send(fd, response, (size_t)n, 0) != n) {
    perror("answering the callback");
  }
  close(fd);
}

int main(void) {
  yx_mock_server *mock = NULL;
  yx_credentials *creds = NULL;
  yx_credentials *previous = NULL;
  yx_callback_verifier *verifier = NULL;
  yx_delivery_guard *guard = NULL;
  yx_client *client = NULL;
  yx_request *call = NULL;
  yx_error *err = NULL;
  char *session = NULL, *reply = NULL;
  char settings[256], callback_url[128];
  struct post received;
  unsigned port = 0;
  int listener, connection, status = 1, genuine, repeat, forged;

  memset(&received, 0, sizeof received);
  if ((listener = listen_locally(&port)) < 0) {
    return 1;
  }
  /* NULL options: CurTime may be five minutes off, either way; the guard holds 100000. */
  if (yx_mock_server_start(&mock, &err) != YX_OK ||
      yx_credentials_new(yx_mock_sample_app_key(), yx_mock_sample_app_secret(), &creds, &err) !=
          YX_OK ||
      yx_credentials_new(yx_mock_sample_app_key(), "the previous secret", &previous, &err) !=
          YX_OK ||
      yx_delivery_guard_new(NULL, &guard, &err) != YX_OK) {
    fprintf(stderr, "setup failed: %s\n", yx_error_message(err));
    yx_error_free(err);
    goto done;
  }
  {
    /* During a rotation: the previous secret and the current, either accepted. */
    const yx_credentials *both[] = {previous, creds};
    if (yx_callback_verifier_new_multi(both, 2, NULL, &verifier, &err) != YX_OK) {
      fprintf(stderr, "setup failed: %s\n", yx_error_message(err));
      yx_error_free(err);
      goto done;
    }
  }
  /* The mock's control API takes form fields; this URL needs no escaping. */
  snprintf(callback_url, sizeof callback_url, "url=http://127.0.0.1:%u/yunxin/callback", port);
  snprintf(settings, sizeof settings, "{\"base_url\":\"%s\"}", yx_mock_server_base_url(mock));
  if (yx_mock_server_control(mock, "POST", "/_mock/callback_url", callback_url, &reply, &err) !=
          YX_OK ||
      yx_client_new(creds, settings, &client, &err) != YX_OK ||
      yx_start_call_new("liuxuanlin", "13888888888", "13777777777", 100, &call, &err) != YX_OK ||
      yx_client_start(client, call, &session, &err) != YX_OK) {
    fprintf(stderr, "setup failed: %s\n", yx_error_message(err));
    yx_error_free(err);
    goto done;
  }
  printf("placed %s\n", session);

  /* The genuine POST, bytes and headers exactly as received, answered with the handler's
   * status (the service retries a callback that is not answered 200). */
  if ((connection = receive_post(listener, &received)) < 0) {
    goto done;
  }
  genuine = handle_callback(verifier, guard, received.body, received.body_len, received.headers,
                            received.header_count);
  answer(connection, genuine);
  /* The service delivers it again (it got no 200 in time): acknowledged, not handled twice. */
  repeat = handle_callback(verifier, guard, received.body, received.body_len, received.headers,
                           received.header_count);

  /* The same POST with the MD5 the C# sample would compute: refused. */
  {
    yx_pair copy[MAX_HEADERS];
    char twice[65];
    size_t i;
    int replaced = 0;
    for (i = 0; i < received.header_count; i++) {
      copy[i] = received.headers[i];
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
    forged = handle_callback(verifier, guard, received.body, received.body_len, copy, i);
  }
  printf("genuine callback: HTTP %d; delivered again: HTTP %d, %zu delivery held; MD5 hex-encoded "
         "twice: HTTP %d\n",
         genuine, repeat, yx_delivery_guard_held(guard), forged);
  status = (genuine == 200 && repeat == 200 && yx_delivery_guard_held(guard) == 1 && forged == 403)
               ? 0
               : 1;

done:
  free(received.body);
  yx_string_free(reply);
  yx_string_free(session);
  yx_request_free(call);
  yx_client_free(client);
  yx_callback_verifier_free(verifier);
  yx_delivery_guard_free(guard);
  yx_credentials_free(previous);
  yx_credentials_free(creds);
  yx_mock_server_free(mock);
  close(listener);
  return status;
}
