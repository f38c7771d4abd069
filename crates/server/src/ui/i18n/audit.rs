//! The strings of the audit-log page, in Japanese and English: a part of each catalogue
//! (`t.audit`), apart so that `i18n.rs` does not grow past reading.

pub struct AuditText {
    pub title: &'static str,
    pub explain: &'static str,
    pub since: &'static str,
    pub until: &'static str,
    pub time_hint: &'static str,
    pub actor: &'static str,
    pub action: &'static str,
    pub operator: &'static str,
    pub at: &'static str,
    pub target: &'static str,
    pub details: &'static str,
    pub client: &'static str,
    pub via: &'static str,
    pub via_api: &'static str,
    pub via_ui: &'static str,
    pub via_cli: &'static str,
    pub no_entries: &'static str,
    pub older: &'static str,
    pub newest: &'static str,
}

impl AuditText {
    /// The channel an entry came through (`api`, `ui`, `cli`), as the page names it.
    pub fn via(&self, via: &str) -> &'static str {
        match via {
            "api" => self.via_api,
            "ui" => self.via_ui,
            "cli" => self.via_cli,
            _ => "",
        }
    }
}

pub static EN: AuditText = AuditText {
    title: "Audit log",
    explain: "Every admin action, swap and export that succeeded, with who, when, what and from where, newest first. Entries are never changed or removed.",
    since: "From",
    until: "Until",
    time_hint: "a date (2026-01-05) or a time (2026-01-05T10:00:00+09:00)",
    actor: "Who",
    action: "Action",
    operator: "Operator (CLI on the server)",
    at: "When",
    target: "Target",
    details: "Details",
    client: "Client address",
    via: "Channel",
    via_api: "API",
    via_ui: "Web UI",
    via_cli: "CLI",
    no_entries: "No entries match.",
    older: "Older",
    newest: "Newest",
};

pub static JA: AuditText = AuditText {
    title: "監査ログ",
    explain: "成功した管理操作・入れ替え・エクスポートを、誰が・いつ・何を・どこから行ったか、新しい順に表示します。記録は変更も削除もされません。",
    since: "開始",
    until: "終了",
    time_hint: "日付（2026-01-05）または日時（2026-01-05T10:00:00+09:00）",
    actor: "実行者",
    action: "操作",
    operator: "運用者（サーバー上のCLI）",
    at: "日時",
    target: "対象",
    details: "詳細",
    client: "接続元アドレス",
    via: "経路",
    via_api: "API",
    via_ui: "Web画面",
    via_cli: "CLI",
    no_entries: "該当する記録はありません。",
    older: "さらに古い記録",
    newest: "最新の記録",
};
