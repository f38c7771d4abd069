//! The one analysis pipeline around the speech engine, for the job runner and
//! `kiku analyze` alike: who the user is when nobody said so. (The engine makes the
//! role-free transcript; `kiku_domain::analysis::report` scores it.)

use kiku_domain::analysis::{mono_roles, stereo_roles, user_side, Roles, Transcript, UserHints};
use kiku_domain::{CallData, ChannelType, CompanyId};

use super::{App, AppError};

/// STEREO calls: the call data decides. MONAURAL calls: the voices' words are weighed too,
/// with the user's and the company's names.
pub fn decide_roles(data: &CallData, transcript: &Transcript, hints: &UserHints) -> Roles {
    if data.audio_channel_type == ChannelType::Stereo {
        return stereo_roles(data);
    }
    let (side, _, _) = user_side(data);
    mono_roles(data, side, &transcript.utterances, hints)
}

/// The names a MONAURAL call's user may say: the participant's, the Kiku user's, the
/// company's.
pub async fn hints(app: &App, company: CompanyId, data: &CallData) -> Result<UserHints, AppError> {
    let mut hints = UserHints::default();
    if data.audio_channel_type == ChannelType::Stereo {
        return Ok(hints);
    }
    let (side, _, _) = user_side(data);
    if let Some(p) = data.participant(side) {
        hints.user_names.extend(p.name.clone());
        if let Some(id) = p.miitel_user_id {
            if let Some(user) = app.store.user(company, id).await? {
                hints.user_names.push(user.name);
            }
        }
    }
    hints.company_name = app.store.company(company).await?.map(|c| c.name);
    Ok(hints)
}
