//! The library's promise, over whole answers rather than codes: whatever a server answers (any
//! HTTP status, any code as a number or a string, any body), a request that may have taken
//! effect is never sent again by the retry policy every client follows.

use proptest::prelude::*;
use yunxin_ecp::ApiRequest;
use yunxin_ecp::policy::{Decision, RetryPolicy};
use yunxin_ecp::{EcpRequest, QueryBySession, StartCall};

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        any::<i64>().prop_map(|c| format!(r#"{{"code":{c},"msg":"x"}}"#).into_bytes()),
        any::<i64>().prop_map(|c| format!(r#"{{"code":"{c}","desc":"x"}}"#).into_bytes()),
        prop::sample::select(vec![416i64, 503, 500, 408, 415, 431, 514, 200])
            .prop_map(|c| format!(r#"{{"code":{c}}}"#).into_bytes()),
        proptest::collection::vec(any::<u8>(), 0..64),
    ]
}

fn retried(policy: &RetryPolicy, advice: yunxin_ecp::RetryAdvice) -> bool {
    (1..=policy.max_retries).any(|attempt| {
        matches!(
            policy.decide(attempt, advice, u32::MAX / 3),
            Decision::RetryAfter(_)
        )
    })
}

proptest! {
    #[test]
    fn another_apis_request_is_never_resent_after_any_answer(
        status in 100u16..600,
        body in body(),
    ) {
        let request = ApiRequest::new("/nimserver/msg/sendMsg.action", [("from", "a")]).unwrap();
        let policy = RetryPolicy { max_retries: 10, ..RetryPolicy::default() };
        if let Err(e) = request.parse_response(status, &body) {
            prop_assert!(!retried(&policy, e.retry_advice()), "{status} {e}");
        }
    }

    #[test]
    fn a_start_is_resent_only_after_an_explicit_rejection(
        status in 100u16..600,
        body in body(),
    ) {
        let policy = RetryPolicy { max_retries: 10, ..RetryPolicy::default() };
        if let Err(e) = StartCall::parse_response(status, &body) {
            let code = match &e {
                yunxin_ecp::ResponseError::Api(api) => Some(api.code),
                _ => None,
            };
            if retried(&policy, e.retry_advice()) {
                prop_assert!(matches!(code, Some(416 | 503)), "{status} {e}");
            }
        }
    }

    #[test]
    fn a_query_may_be_resent_but_never_a_refused_one(status in 100u16..600, body in body()) {
        let policy = RetryPolicy::default();
        if let Err(e) = QueryBySession::parse_response(status, &body) {
            if let yunxin_ecp::ResponseError::Api(api) = &e {
                if matches!(api.code, 414 | 403 | 404) {
                    prop_assert!(!retried(&policy, e.retry_advice()), "{status} {e}");
                }
            }
        }
    }
}
