//! `sluice skills list|show|delete`: the skills agents saved with `skills.save`, for
//! operators. It only prints what the broker returns (names, descriptions, signatures,
//! code — which `skills.save` refused to accept with data in it).

use clap::Subcommand;

use super::{CliError, ConfigArg, exit, runtime};
use sluice::config::Config;
use sluice::flow::Broker;

/// Arguments of `sluice skills`.
#[derive(Debug, clap::Args)]
pub struct SkillsArgs {
    #[command(flatten)]
    config: ConfigArg,
    /// Whose skills (the agent that saved them; with `[skills] share = "group"`, any
    /// agent of the group).
    #[arg(long, value_name = "NAME", default_value = "anonymous")]
    agent: String,
    #[command(subcommand)]
    command: SkillsCommand,
}

/// The skills subcommands.
#[derive(Debug, Subcommand)]
enum SkillsCommand {
    /// One line per skill: name, version, signature, description.
    List,
    /// A skill's description, signature and code.
    Show {
        /// The skill's name.
        name: String,
        /// Print it as its SKILL.md manifest (name, description, signature, example, code).
        #[arg(long)]
        manifest: bool,
    },
    /// Delete every version of a skill.
    Delete {
        /// The skill's name.
        name: String,
    },
}

pub(super) fn run(args: SkillsArgs) -> Result<u8, CliError> {
    let (config, _) = Config::discover(args.config.config.as_deref()).map_err(CliError::usage)?;
    let broker = Broker::from_config_without_sandbox(&config).map_err(CliError::usage)?;
    let agent = args.agent;
    runtime()?.block_on(async {
        let result = match args.command {
            SkillsCommand::List => broker.skills(&agent).await.map(|skills| {
                if skills.is_empty() {
                    println!("no skills saved for agent {agent:?}");
                }
                for skill in skills {
                    println!(
                        "{} v{}  ({}) => {}  {}",
                        skill.name,
                        skill.version,
                        skill.param_type,
                        skill.return_type,
                        skill.description.lines().next().unwrap_or_default()
                    );
                }
                exit::OK
            }),
            SkillsCommand::Show { name, manifest } => broker.skills(&agent).await.map(|skills| {
                match skills.into_iter().find(|s| s.name == name) {
                    Some(skill) if manifest => {
                        print!("{}", skill.manifest());
                        exit::OK
                    }
                    Some(skill) => {
                        println!("name: {}\nversion: {}", skill.name, skill.version);
                        println!("description: {}", skill.description);
                        println!(
                            "signature: skills.{}(args: {}): {}",
                            skill.name, skill.param_type, skill.return_type
                        );
                        println!("code:\n{}", skill.code);
                        exit::OK
                    }
                    None => {
                        eprintln!(
                            "sluice: no skill named {name:?} is saved for agent {agent:?}; list them with `sluice skills --agent {agent} list`"
                        );
                        exit::USAGE
                    }
                }
            }),
            SkillsCommand::Delete { name } => {
                broker.delete_skill(&agent, &name).await.map(|deleted| {
                    if deleted == 0 {
                        eprintln!("sluice: no skill named {name:?} is saved for agent {agent:?}");
                        exit::USAGE
                    } else {
                        println!("deleted skill {name} ({deleted} versions)");
                        exit::OK
                    }
                })
            }
        };
        broker.shutdown().await;
        result.map_err(CliError::from_broker)
    })
}
