package io.github.yunxinecp;

/** What {@link CallbackVerifier#verifyDelivery} returns: the verified delivery and the event it carried. */
public final class VerifiedDelivery {
    private final Delivery delivery;
    private final CallbackEvent event;

    VerifiedDelivery(Delivery delivery, CallbackEvent event) {
        this.delivery = delivery;
        this.event = event;
    }

    /** Which credentials matched, and what identifies the delivery for a {@link DeliveryGuard}. */
    public Delivery delivery() {
        return delivery;
    }

    /** The event: a call-end record, or another event untouched. */
    public CallbackEvent event() {
        return event;
    }

    @Override
    public String toString() {
        return "VerifiedDelivery{" + delivery + ", " + event + "}";
    }
}
