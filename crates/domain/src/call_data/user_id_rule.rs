//! The seed's table of when a participant must carry a `miitel_user_id`.

use super::{EventType, Side};

/// Whether the participant on `side` must name a user, per the vendor's table:
/// outgoing calls need the caller; answered incoming calls need the callee; extension
/// calls need both, except an unanswered call to a group.
pub fn user_id_required(event: EventType, side: Side, answered: bool, has_group: bool) -> bool {
    use EventType::*;
    match (event, side) {
        (OutgoingCall | OutgoingTransfer, Side::From) => true,
        (OutgoingCall | OutgoingTransfer, Side::To) => false,
        (IncomingCall, Side::From) => false,
        (IncomingCall, Side::To) => answered,
        (AutomaticTransfer | AutomaticRecord, _) => false,
        (Extension | ExtensionTransfer, Side::From) => true,
        (Extension | ExtensionTransfer, Side::To) => !has_group || answered,
    }
}

/// Why it is required, in words an integrator can act on.
pub(super) fn requirement_reason(event: EventType, side: Side, has_group: bool) -> String {
    let condition = match (event, side) {
        (EventType::IncomingCall, Side::To) => " when call_answered_at is not null",
        (EventType::Extension | EventType::ExtensionTransfer, Side::To) if has_group => {
            " when answered in a group (call_answered_at is not null)"
        }
        (EventType::Extension | EventType::ExtensionTransfer, Side::To) => " without a group name",
        _ => "",
    };
    format!("required for {event} {side}{condition}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use EventType::*;

    /// The seed's table, row by row, for every combination of answered × group.
    #[test]
    fn matches_the_seed_table_in_every_cell() {
        for answered in [false, true] {
            for group in [false, true] {
                let req = |e, s| user_id_required(e, s, answered, group);
                assert!(req(OutgoingCall, Side::From));
                assert!(!req(OutgoingCall, Side::To));
                assert!(req(OutgoingTransfer, Side::From));
                assert!(!req(OutgoingTransfer, Side::To));
                assert!(!req(IncomingCall, Side::From));
                assert_eq!(req(IncomingCall, Side::To), answered);
                assert!(!req(AutomaticTransfer, Side::From));
                assert!(!req(AutomaticTransfer, Side::To));
                assert!(req(Extension, Side::From));
                assert_eq!(req(Extension, Side::To), !group || answered);
                assert!(req(ExtensionTransfer, Side::From));
                assert_eq!(req(ExtensionTransfer, Side::To), !group || answered);
                assert!(!req(AutomaticRecord, Side::From));
                assert!(!req(AutomaticRecord, Side::To));
            }
        }
    }

    #[test]
    fn reasons_name_the_event_and_side() {
        assert_eq!(
            requirement_reason(OutgoingCall, Side::From, false),
            "required for OUTGOING_CALL FROM"
        );
        assert!(requirement_reason(IncomingCall, Side::To, false).contains("call_answered_at"));
        assert!(requirement_reason(Extension, Side::To, false).contains("without a group"));
    }
}
