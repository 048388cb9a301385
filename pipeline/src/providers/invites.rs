//! Pending invitations, which OpenAI and Anthropic keep alike: `{id, email, status}`
//! objects in a cursor-paged list, deleted one by one. A leaver's pending invitation
//! would let them back in, so every one addressed to them is cancelled.

use reqwest::{Method, Url};
use serde::Deserialize;

use super::http::Transport;
use super::{Action, Actions, ProviderError};

/// An invitation as both Admin APIs list it.
#[derive(Deserialize)]
pub(crate) struct Invite {
    pub id: String,
    pub email: String,
    pub status: String,
}

/// Deletes each of `invites` that is pending and addressed to `email` (compared
/// case-insensitively); `url` gives an invitation's URL from its id.
pub(crate) async fn cancel_pending(
    http: &Transport,
    invites: &[Invite],
    email: &str,
    url: impl Fn(&str) -> Url,
    actions: &mut Actions<'_>,
) -> Result<(), ProviderError> {
    for invite in invites
        .iter()
        .filter(|i| i.status == "pending" && i.email.eq_ignore_ascii_case(email))
    {
        let reply = http
            .send(Method::DELETE, url(&invite.id), None, "DELETE invite")
            .await?;
        actions
            .push(Action::deleted("delete_invite", invite.id.as_str(), &reply))
            .await;
    }
    Ok(())
}
