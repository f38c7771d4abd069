//! Every string of the web UI, in Japanese and English. A catalogue is a struct, so a page
//! that uses a missing message does not compile. The language comes from the `kiku_lang`
//! cookie (the switch in the header) or else `Accept-Language`.

use axum::http::{header, HeaderMap};
use kiku_domain::{CallStatus, EventType};

pub const LANG_COOKIE: &str = "kiku_lang";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    Ja,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Ja => "ja",
            Lang::En => "en",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        match code {
            "ja" => Some(Lang::Ja),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The other language, for the switch.
    pub fn other(self) -> Self {
        match self {
            Lang::Ja => Lang::En,
            Lang::En => Lang::Ja,
        }
    }

    /// The cookie's choice, else the first of `Accept-Language` Kiku speaks (by weight),
    /// else English.
    pub fn of(headers: &HeaderMap) -> Self {
        let cookie = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .find_map(|pair| pair.trim().strip_prefix(LANG_COOKIE)?.strip_prefix('='))
            .and_then(Lang::parse);
        if let Some(lang) = cookie {
            return lang;
        }
        let accept = headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        accept_language(accept)
    }

    pub fn text(self) -> &'static Text {
        match self {
            Lang::Ja => &JA,
            Lang::En => &EN,
        }
    }
}

/// The preferred language of an `Accept-Language` value.
fn accept_language(value: &str) -> Lang {
    let mut best: Option<(f32, Lang)> = None;
    for item in value.split(',') {
        let mut parts = item.trim().split(';');
        let tag = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let weight = parts
            .find_map(|p| p.trim().strip_prefix("q="))
            .and_then(|q| q.parse::<f32>().ok())
            .unwrap_or(1.0);
        let primary = tag.split('-').next().unwrap_or("");
        let Some(lang) = Lang::parse(primary) else {
            continue;
        };
        if weight > 0.0 && best.is_none_or(|(w, _)| weight > w) {
            best = Some((weight, lang));
        }
    }
    best.map_or(Lang::En, |(_, lang)| lang)
}

/// One language's messages.
pub struct Text {
    pub lang_name: &'static str,
    pub switch_to: &'static str,
    pub nav_calls: &'static str,
    pub sign_out: &'static str,
    pub signed_in_as: &'static str,
    pub sign_in_title: &'static str,
    pub email: &'static str,
    pub password: &'static str,
    pub sign_in: &'static str,
    pub sign_in_failed: &'static str,
    pub calls_title: &'static str,
    pub filter_status: &'static str,
    pub filter_event_type: &'static str,
    pub filter_from: &'static str,
    pub filter_to: &'static str,
    pub filter_apply: &'static str,
    pub any: &'static str,
    pub col_call_type: &'static str,
    pub col_user: &'static str,
    pub col_from: &'static str,
    pub col_to: &'static str,
    pub col_start: &'static str,
    pub col_duration: &'static str,
    pub col_status: &'static str,
    pub col_score: &'static str,
    pub col_tags: &'static str,
    pub col_flags: &'static str,
    pub no_calls: &'static str,
    pub previous_page: &'static str,
    pub next_page: &'static str,
    pub page_of: &'static str,
    pub outgoing: &'static str,
    pub incoming: &'static str,
    pub outgoing_no_answer: &'static str,
    pub incoming_no_answer: &'static str,
    pub transfer: &'static str,
    pub extension: &'static str,
    pub recorded: &'static str,
    pub status_awaiting_upload: &'static str,
    pub status_queued: &'static str,
    pub status_analysing: &'static str,
    pub status_completed: &'static str,
    pub status_failed: &'static str,
    pub flag_roles_need_review: &'static str,
    pub flag_recording_truncated: &'static str,
    pub flag_stereo_channels_ambiguous: &'static str,
    pub role_confidence: &'static str,
    pub back_to_calls: &'static str,
    pub parties: &'static str,
    pub user: &'static str,
    pub customer: &'static str,
    pub started: &'static str,
    pub answered: &'static str,
    pub ended: &'static str,
    pub not_answered: &'static str,
    pub tags: &'static str,
    pub status: &'static str,
    pub player: &'static str,
    pub play: &'static str,
    pub back_5s: &'static str,
    pub speed: &'static str,
    pub timeline: &'static str,
    pub silence: &'static str,
    pub overlap: &'static str,
    pub transcript: &'static str,
    pub filler_note: &'static str,
    pub keyword_hit: &'static str,
    pub metrics: &'static str,
    pub summary: &'static str,
    pub no_summary: &'static str,
    pub metric_score: &'static str,
    pub explain_score: &'static str,
    pub metric_tlr: &'static str,
    pub explain_tlr: &'static str,
    pub metric_silences: &'static str,
    pub explain_silences: &'static str,
    pub metric_overlaps: &'static str,
    pub explain_overlaps: &'static str,
    pub metric_speech_rate: &'static str,
    pub explain_speech_rate: &'static str,
    pub metric_intonation: &'static str,
    pub explain_intonation: &'static str,
    pub metric_rallies: &'static str,
    pub explain_rallies: &'static str,
    pub metric_monologue: &'static str,
    pub explain_monologue: &'static str,
    pub metric_fillers: &'static str,
    pub explain_fillers: &'static str,
    pub metric_keywords: &'static str,
    pub explain_keywords: &'static str,
    pub estimated: &'static str,
    pub operation: &'static str,
    pub swap: &'static str,
    pub swap_confirm: &'static str,
    pub versions: &'static str,
    pub version: &'static str,
    pub viewing_version: &'static str,
    pub reason_analysis: &'static str,
    pub reason_swap: &'static str,
    pub reason_rescore: &'static str,
    pub not_analysed_yet: &'static str,
    pub error_title: &'static str,
    pub error_not_found: &'static str,
    pub error_forbidden: &'static str,
    pub error_bad_request: &'static str,
    pub error_server: &'static str,
    pub request_id: &'static str,
    pub seconds: &'static str,
    pub nav_admin: &'static str,
    pub users_title: &'static str,
    pub name: &'static str,
    pub role_admin: &'static str,
    pub use_incoming_webhook: &'static str,
    pub user_id: &'static str,
    pub copy_id: &'static str,
    pub copied: &'static str,
    pub create_user: &'static str,
    pub password_optional: &'static str,
    pub yes: &'static str,
    pub no: &'static str,
    pub turn_on: &'static str,
    pub turn_off: &'static str,
    pub webhook_title: &'static str,
    pub webhook_explain: &'static str,
    pub no_webhook: &'static str,
    pub create_url: &'static str,
    pub delete_url: &'static str,
    pub delete_url_confirm: &'static str,
    pub copy_url: &'static str,
    pub created: &'static str,
    pub settings_title: &'static str,
    pub language_label: &'static str,
    pub keywords_label: &'static str,
    pub score_rule_label: &'static str,
    pub simulate: &'static str,
    pub save: &'static str,
    pub saved_rescoring: &'static str,
    pub simulation_title: &'static str,
    pub score_now: &'static str,
    pub score_then: &'static str,
    pub no_calls_to_simulate: &'static str,
    pub call: &'static str,
}

impl Text {
    pub fn status(&self, status: CallStatus) -> &'static str {
        match status {
            CallStatus::AwaitingUpload => self.status_awaiting_upload,
            CallStatus::Queued => self.status_queued,
            CallStatus::Analysing => self.status_analysing,
            CallStatus::Completed => self.status_completed,
            CallStatus::Failed => self.status_failed,
        }
    }

    /// MiiTel's call type, with the no-answer variants.
    pub fn call_type(&self, event: EventType, answered: bool) -> &'static str {
        match (event, answered) {
            (EventType::OutgoingCall, true) => self.outgoing,
            (EventType::OutgoingCall, false) => self.outgoing_no_answer,
            (EventType::IncomingCall, true) => self.incoming,
            (EventType::IncomingCall, false) => self.incoming_no_answer,
            (EventType::OutgoingTransfer | EventType::AutomaticTransfer, _) => self.transfer,
            (EventType::Extension | EventType::ExtensionTransfer, _) => self.extension,
            (EventType::AutomaticRecord, _) => self.recorded,
        }
    }

    pub fn flag(&self, flag: &str) -> &'static str {
        match flag {
            "roles_need_review" => self.flag_roles_need_review,
            "recording_truncated" => self.flag_recording_truncated,
            "stereo_channels_ambiguous" => self.flag_stereo_channels_ambiguous,
            _ => "",
        }
    }
}

pub static EN: Text = Text {
    lang_name: "English",
    switch_to: "日本語",
    nav_calls: "Call histories",
    sign_out: "Sign out",
    signed_in_as: "Signed in as",
    sign_in_title: "Sign in to Kiku",
    email: "E-mail",
    password: "Password",
    sign_in: "Sign in",
    sign_in_failed: "The e-mail or the password is wrong.",
    calls_title: "Call histories",
    filter_status: "Status",
    filter_event_type: "Call type",
    filter_from: "From",
    filter_to: "To",
    filter_apply: "Filter",
    any: "Any",
    col_call_type: "Call type",
    col_user: "User",
    col_from: "From",
    col_to: "To",
    col_start: "Start",
    col_duration: "Duration",
    col_status: "Status",
    col_score: "Score",
    col_tags: "Tags",
    col_flags: "Flags",
    no_calls: "No calls match.",
    previous_page: "Previous",
    next_page: "Next",
    page_of: "Page",
    outgoing: "Outgoing",
    incoming: "Incoming",
    outgoing_no_answer: "Outgoing (no answer)",
    incoming_no_answer: "Incoming (no answer)",
    transfer: "Transfer",
    extension: "Extension",
    recorded: "Recorded",
    status_awaiting_upload: "Not uploaded",
    status_queued: "Queued",
    status_analysing: "Analysing",
    status_completed: "Completed",
    status_failed: "Failed",
    flag_roles_need_review: "Roles need review",
    flag_recording_truncated: "Recording truncated",
    flag_stereo_channels_ambiguous: "Stereo channels ambiguous",
    role_confidence: "role confidence",
    back_to_calls: "Back to call histories",
    parties: "Parties",
    user: "User",
    customer: "Customer",
    started: "Started",
    answered: "Answered",
    ended: "Ended",
    not_answered: "Not answered",
    tags: "Tags",
    status: "Status",
    player: "Recording",
    play: "Play / pause",
    back_5s: "Back 5 s",
    speed: "Speed",
    timeline: "Who spoke when",
    silence: "Silence",
    overlap: "Overlap",
    transcript: "Transcript",
    filler_note: "Fillers are shown dimmed.",
    keyword_hit: "keyword",
    metrics: "Metrics",
    summary: "Summary",
    no_summary: "No summary.",
    metric_score: "Score",
    explain_score: "The overall score of the conversation under the company's score rule.",
    metric_tlr: "Talk:listen ratio",
    explain_tlr: "The user's share of the speaking time.",
    metric_silences: "Silences",
    explain_silences: "Pauses of more than 3 seconds where nobody speaks.",
    metric_overlaps: "Overlaps",
    explain_overlaps: "Both speaking at once for more than 1 second.",
    metric_speech_rate: "Speech-rate difference",
    explain_speech_rate: "The user's speech rate minus the customer's.",
    metric_intonation: "Intonation",
    explain_intonation: "How much the user's pitch varies (standard deviation in Hz).",
    metric_rallies: "Rallies",
    explain_rallies: "How often the turn passes between the two.",
    metric_monologue: "Longest monologue",
    explain_monologue: "The user's longest stretch of speech without the customer.",
    metric_fillers: "Fillers",
    explain_fillers: "Filler words (um, uh, えー…) of the user.",
    metric_keywords: "Keywords",
    explain_keywords: "Hits of the company's registered keywords.",
    estimated: "estimated",
    operation: "Operation",
    swap: "Swap user and customer",
    swap_confirm: "Swap user and customer? The result is recomputed as a new version.",
    versions: "Versions",
    version: "Version",
    viewing_version: "You are viewing an earlier version.",
    reason_analysis: "analysis",
    reason_swap: "swap",
    reason_rescore: "re-score",
    not_analysed_yet: "This call has no analysis yet.",
    error_title: "Something went wrong",
    error_not_found: "There is no such page in your company.",
    error_forbidden: "You are not allowed to see this page.",
    error_bad_request: "The request could not be understood.",
    error_server: "The server failed. Please try again; if it keeps failing, give this request id to your administrator.",
    request_id: "Request id",
    seconds: "s",
    nav_admin: "Admin",
    users_title: "Users",
    name: "Name",
    role_admin: "Admin",
    use_incoming_webhook: "Use Incoming Webhook",
    user_id: "ID",
    copy_id: "Copy ID",
    copied: "Copied",
    create_user: "Add user",
    password_optional: "Password (optional: without one, the user cannot sign in)",
    yes: "Yes",
    no: "No",
    turn_on: "Turn on",
    turn_off: "Turn off",
    webhook_title: "Incoming Webhook URL",
    webhook_explain: "The PBX posts finished calls to this URL. A company has one URL at a time; delete it to make a new one.",
    no_webhook: "No URL yet.",
    create_url: "Create URL",
    delete_url: "Delete URL",
    delete_url_confirm: "Delete the URL? PBXs that use it will be refused until they get a new one.",
    copy_url: "Copy URL",
    created: "Created",
    settings_title: "Analysis settings",
    language_label: "Language (auto, or a code such as ja or en)",
    keywords_label: "Keywords (one per line)",
    score_rule_label: "Score rule (JSON, see the API documentation)",
    simulate: "Simulate",
    save: "Save",
    saved_rescoring: "Saved. Calls to re-score:",
    simulation_title: "What the new settings would give",
    score_now: "Score now",
    score_then: "New score",
    no_calls_to_simulate: "No analysed calls to try the settings on yet.",
    call: "Call",
};

pub static JA: Text = Text {
    lang_name: "日本語",
    switch_to: "English",
    nav_calls: "通話履歴",
    sign_out: "ログアウト",
    signed_in_as: "ログイン中",
    sign_in_title: "Kiku にログイン",
    email: "メールアドレス",
    password: "パスワード",
    sign_in: "ログイン",
    sign_in_failed: "メールアドレスまたはパスワードが違います。",
    calls_title: "通話履歴",
    filter_status: "ステータス",
    filter_event_type: "通話種別",
    filter_from: "開始日",
    filter_to: "終了日",
    filter_apply: "絞り込む",
    any: "すべて",
    col_call_type: "通話種別",
    col_user: "ユーザー",
    col_from: "発信元",
    col_to: "発信先",
    col_start: "開始日時",
    col_duration: "通話時間",
    col_status: "ステータス",
    col_score: "スコア",
    col_tags: "タグ",
    col_flags: "注意",
    no_calls: "該当する通話はありません。",
    previous_page: "前へ",
    next_page: "次へ",
    page_of: "ページ",
    outgoing: "発信",
    incoming: "着信",
    outgoing_no_answer: "発信（不在）",
    incoming_no_answer: "着信（不在）",
    transfer: "転送",
    extension: "内線",
    recorded: "録音",
    status_awaiting_upload: "未アップロード",
    status_queued: "解析待ち",
    status_analysing: "解析中",
    status_completed: "解析完了",
    status_failed: "解析失敗",
    flag_roles_need_review: "話者の確認が必要",
    flag_recording_truncated: "録音の一部のみ解析",
    flag_stereo_channels_ambiguous: "ステレオのチャンネルが不明確",
    role_confidence: "話者判定の確からしさ",
    back_to_calls: "通話履歴に戻る",
    parties: "通話者",
    user: "ユーザー",
    customer: "取引先",
    started: "開始",
    answered: "応答",
    ended: "終了",
    not_answered: "不在",
    tags: "タグ",
    status: "ステータス",
    player: "録音",
    play: "再生 / 一時停止",
    back_5s: "5秒戻る",
    speed: "再生速度",
    timeline: "発話タイムライン",
    silence: "沈黙",
    overlap: "被り",
    transcript: "文字起こし",
    filler_note: "フィラーは薄く表示しています。",
    keyword_hit: "キーワード",
    metrics: "解析結果",
    summary: "要約",
    no_summary: "要約はありません。",
    metric_score: "スコア",
    explain_score: "会社のスコア設定による会話全体の評価です。",
    metric_tlr: "Talk:Listen 比率",
    explain_tlr: "発話時間のうちユーザーが話した割合です。",
    metric_silences: "沈黙",
    explain_silences: "3秒を超えて誰も話していない間です。",
    metric_overlaps: "被り",
    explain_overlaps: "1秒を超えて二人が同時に話した箇所です。",
    metric_speech_rate: "話速の差",
    explain_speech_rate: "ユーザーの話速から取引先の話速を引いた値です。",
    metric_intonation: "抑揚",
    explain_intonation: "ユーザーの声の高さのばらつき（標準偏差、Hz）です。",
    metric_rallies: "ラリー",
    explain_rallies: "話者が入れ替わった回数です。",
    metric_monologue: "最長モノローグ",
    explain_monologue: "取引先を挟まずにユーザーが話し続けた最長の時間です。",
    metric_fillers: "フィラー",
    explain_fillers: "ユーザーの「えー」「あの」などのつなぎ言葉です。",
    metric_keywords: "キーワード",
    explain_keywords: "登録したキーワードが出現した回数です。",
    estimated: "推定",
    operation: "操作",
    swap: "ユーザーと取引先を入れ替える",
    swap_confirm: "ユーザーと取引先を入れ替えますか？ 結果は新しいバージョンとして再計算されます。",
    versions: "バージョン",
    version: "バージョン",
    viewing_version: "以前のバージョンを表示しています。",
    reason_analysis: "解析",
    reason_swap: "入れ替え",
    reason_rescore: "再スコア",
    not_analysed_yet: "この通話はまだ解析されていません。",
    error_title: "エラーが発生しました",
    error_not_found: "このページは見つかりません。",
    error_forbidden: "このページを表示する権限がありません。",
    error_bad_request: "リクエストを理解できませんでした。",
    error_server: "サーバーでエラーが発生しました。再度お試しください。続く場合はこのリクエスト ID を管理者にお伝えください。",
    request_id: "リクエスト ID",
    seconds: "秒",
    nav_admin: "管理",
    users_title: "ユーザー",
    name: "名前",
    role_admin: "管理者",
    use_incoming_webhook: "Incoming Webhook を利用",
    user_id: "ID",
    copy_id: "ID をコピー",
    copied: "コピーしました",
    create_user: "ユーザーを追加",
    password_optional: "パスワード（任意。なしの場合はログインできません）",
    yes: "はい",
    no: "いいえ",
    turn_on: "オンにする",
    turn_off: "オフにする",
    webhook_title: "Incoming Webhook URL",
    webhook_explain: "PBX は終了した通話をこの URL に送信します。URL は会社ごとに 1 つです。作り直すには削除してください。",
    no_webhook: "URL はまだありません。",
    create_url: "URL を作成",
    delete_url: "URL を削除",
    delete_url_confirm: "URL を削除しますか？ この URL を使う PBX は新しい URL を設定するまで拒否されます。",
    copy_url: "URL をコピー",
    created: "作成日時",
    settings_title: "解析設定",
    language_label: "言語（auto、または ja・en などのコード）",
    keywords_label: "キーワード（1 行に 1 つ）",
    score_rule_label: "スコアルール（JSON。API ドキュメントを参照）",
    simulate: "シミュレーション",
    save: "保存",
    saved_rescoring: "保存しました。再スコアする通話数:",
    simulation_title: "新しい設定での結果",
    score_now: "現在のスコア",
    score_then: "新しいスコア",
    no_calls_to_simulate: "試せる解析済みの通話はまだありません。",
    call: "通話",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_the_heaviest_known_language() {
        assert_eq!(accept_language("ja,en;q=0.8"), Lang::Ja);
        assert_eq!(accept_language("en-US,en;q=0.9,ja;q=0.8"), Lang::En);
        assert_eq!(accept_language("fr, ja-JP;q=0.5"), Lang::Ja);
        assert_eq!(accept_language("de"), Lang::En);
        assert_eq!(accept_language(""), Lang::En);
        assert_eq!(accept_language("ja;q=0, en;q=0.1"), Lang::En);
    }

    #[test]
    fn the_cookie_wins_over_the_header() {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT_LANGUAGE, "en".parse().expect("value"));
        headers.insert(header::COOKIE, "a=b; kiku_lang=ja".parse().expect("value"));
        assert_eq!(Lang::of(&headers), Lang::Ja);
    }
}
