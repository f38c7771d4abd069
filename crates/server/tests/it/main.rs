//! Integration tests: the real server on a local port, over real HTTP, against SQLite and
//! (in CI) PostgreSQL. One binary so the build links once.

mod abuse;
mod analysis;
mod api;
mod audit_log;
mod browser;
mod cli;
mod cluster;
mod conformance;
mod crash;
mod crm;
mod crm_admin;
mod crm_fakes;
mod deliveries;
mod durability;
mod export;
mod isolation;
mod limits;
mod logs;
mod metrics;
mod minutes;
mod mono;
mod notifications;
mod outgoing_webhook_delivery;
mod outgoing_webhooks;
mod process;
#[path = "../../../notify/tests/receiver.rs"]
mod receiver;
mod redaction;
mod roles;
mod s3;
mod search;
mod secrets;
mod sentiment;
mod sign_in;
mod support;
mod swap;
mod tag_rules;
mod takeover;
mod ui;
mod ui_audit_log;
mod ui_notifications;
mod upload;
mod webhook;
