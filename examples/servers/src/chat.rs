//! `chat`: a team-chat server that stands in for any external sink (Slack, email, a web hook).
//!
//! Messages live in memory for the life of the process. With a log file, every posted
//! message is also appended to it as one JSON line *before* the post succeeds, so tests and
//! demos can see exactly what reached the outside world.

use std::{
    fs::File,
    io::Write,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::{SystemTime, UNIX_EPOCH},
};

use rmcp::{
    Json, ServerHandler,
    handler::server::{router::tool::ToolRouter, wrapper::Parameters},
    tool, tool_handler, tool_router,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::Error;

/// A posted message; also the shape of each line of the log file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    /// Message id, e.g. "msg-1".
    pub id: String,
    /// Channel it was posted to, e.g. "#sales".
    pub channel: String,
    /// The message text, as received.
    pub text: String,
    /// When it was posted, in milliseconds since the Unix epoch.
    pub posted_at_ms: u64,
}

/// Arguments of `postMessage`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct PostMessageArgs {
    /// Channel to post to, e.g. "#sales".
    pub channel: String,
    /// Text of the message.
    pub text: String,
}

/// Result of `postMessage`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Posted {
    /// Id of the new message.
    pub id: String,
    /// Channel it was posted to.
    pub channel: String,
}

/// Arguments of `listMessages`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ListMessagesArgs {
    /// Only list messages of this channel; all channels if absent.
    pub channel: Option<String>,
}

/// Result of `listMessages`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct MessageList {
    /// The messages, oldest first.
    pub messages: Vec<Message>,
}

#[derive(Debug, Default)]
struct ChatState {
    messages: Vec<Message>,
    log: Option<(PathBuf, File)>,
}

/// The `chat` MCP server; cheap to clone, all clones share the same messages.
#[derive(Debug, Clone)]
pub struct ChatServer {
    state: Arc<Mutex<ChatState>>,
    tool_router: ToolRouter<Self>,
}

impl ChatServer {
    /// A server that keeps messages in memory only.
    pub fn new() -> Self {
        Self {
            state: Arc::default(),
            tool_router: Self::tool_router(),
        }
    }

    /// A server that also appends every posted message to `path` as a JSON line.
    pub fn with_log(path: &Path) -> Result<Self, Error> {
        let file = crate::open_log(path)?;
        let server = Self::new();
        server.lock().log = Some((path.to_owned(), file));
        Ok(server)
    }

    /// The state, even if a panic elsewhere poisoned the lock: messages are append-only.
    fn lock(&self) -> std::sync::MutexGuard<'_, ChatState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Default for ChatServer {
    fn default() -> Self {
        Self::new()
    }
}

#[tool_router]
impl ChatServer {
    /// Post a message to a channel; returns the new message's id.
    #[tool(
        name = "postMessage",
        annotations(read_only_hint = false, open_world_hint = true)
    )]
    async fn post_message(
        &self,
        Parameters(args): Parameters<PostMessageArgs>,
    ) -> Result<Json<Posted>, String> {
        let channel = args.channel.trim();
        if channel.is_empty() {
            return Err("channel must not be empty, e.g. \"#sales\"".into());
        }
        if args.text.trim().is_empty() {
            return Err("text must not be empty".into());
        }
        let mut state = self.lock();
        let message = Message {
            id: format!("msg-{}", state.messages.len() + 1),
            channel: channel.to_owned(),
            text: args.text,
            posted_at_ms: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |since| since.as_millis() as u64),
        };
        if let Some((path, file)) = &mut state.log {
            let mut line = serde_json::to_string(&message).map_err(|error| error.to_string())?;
            line.push('\n');
            file.write_all(line.as_bytes())
                .and_then(|()| file.flush())
                .map_err(|error| {
                    format!(
                        "message not posted: cannot append to chat log {}: {error}",
                        path.display()
                    )
                })?;
        }
        tracing::info!(id = %message.id, channel = %message.channel, "message posted");
        let posted = Posted {
            id: message.id.clone(),
            channel: message.channel.clone(),
        };
        state.messages.push(message);
        Ok(Json(posted))
    }

    /// List posted messages, oldest first, optionally only those of one channel.
    #[tool(name = "listMessages", annotations(read_only_hint = true))]
    async fn list_messages(
        &self,
        Parameters(args): Parameters<ListMessagesArgs>,
    ) -> Json<MessageList> {
        let channel = args.channel.as_deref().map(str::trim);
        let messages = self
            .lock()
            .messages
            .iter()
            .filter(|message| channel.is_none_or(|channel| message.channel == channel))
            .cloned()
            .collect();
        Json(MessageList { messages })
    }
}

#[tool_handler(
    router = self.tool_router,
    name = "chat",
    instructions = "Team chat. postMessage sends a message to a channel; listMessages reads them back."
)]
impl ServerHandler for ChatServer {}
