//! The command line as the user writes it (clap derive). No validation beyond what clap does:
//! each command turns these raw arguments into checked values before doing anything.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::output::Format;

#[derive(Debug, Parser)]
#[command(
    name = "irsa",
    version,
    about = "Set up, verify, troubleshoot and audit IAM Roles for Service Accounts (IRSA) on Amazon EKS"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command takes, before or after its name.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// AWS profile from ~/.aws/config and ~/.aws/credentials (as the aws CLI's; default AWS_PROFILE).
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,
    /// AWS region (default: the spec's, then the kubeconfig context's, then AWS_REGION / AWS_DEFAULT_REGION).
    #[arg(long, global = true, value_name = "REGION")]
    pub region: Option<String>,
    /// Colour in human output: auto (on a terminal, unless NO_COLOR is set), always, never.
    #[arg(long, global = true, value_enum, default_value_t, value_name = "WHEN")]
    pub color: ColorChoice,
    /// Show the full detail of errors (the AWS SDK's and the Kubernetes client's).
    #[arg(long, global = true)]
    pub debug: bool,
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

/// `irsa completions SHELL`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Powershell,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    pub shell: Shell,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the presets (well-known workloads and their IAM policies), or show one.
    Presets(PresetsArgs),
    /// Write, per binding, the permission and trust policies, the ServiceAccount manifest and Helm values.
    Render(RenderArgs),
    /// Show what apply would change: exit 0 nothing, 3 changes pending, 1 conflict or error.
    Plan(ProvisionArgs),
    /// Create or repair everything IRSA needs for the spec's bindings (asks first unless --yes).
    Apply(ApplyArgs),
    /// Remove what irsa created for the spec's bindings, and nothing else.
    Destroy(DestroyArgs),
    /// List every service account with an IAM role annotation, joined with IAM.
    List(ListArgs),
    /// Prove service accounts can assume their roles (token proof, or a real pod with --pod).
    Verify(VerifyArgs),
    /// Move live service accounts between IRSA and EKS Pod Identity, a proof between steps, so
    /// no workload is ever without credentials (asks first unless --yes; --plan: exit 3 when
    /// something would change).
    Migrate(MigrateArgs),
    /// Diagnose IRSA for service accounts: every link of the chain, root cause first, with the fix
    /// (default and --all: every annotated service account plus the presets' well-known ones).
    Doctor(DoctorArgs),
    /// Who assumed which role, from CloudTrail's AssumeRoleWithWebIdentity events, beside RoleLastUsed.
    Usage(UsageArgs),
    /// Evaluate or lint IAM policy documents.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Check whether a service account may assume a role through its trust policy.
    #[command(subcommand)]
    Trust(TrustCommand),
    /// Audit every role of the account (live, or a get-account-authorization-details dump):
    /// exit 1 when a finding reaches --fail-on.
    Audit(AuditArgs),
    /// Print what irsa's commands need: AWS actions per command (or an IAM policy with
    /// --output policy) and Kubernetes RBAC (a ClusterRole with --output rbac).
    Permissions(PermissionsArgs),
    /// Print a shell completion script: `irsa completions bash > /etc/bash_completion.d/irsa`.
    Completions(CompletionsArgs),
    /// Print the man page (roff): `irsa man > irsa.1; man ./irsa.1`.
    Man,
}

impl Command {
    /// The command's name as typed (`apply`, `policy lint`).
    pub fn name(&self) -> &'static str {
        match self {
            Command::Presets(_) => "presets",
            Command::Render(_) => "render",
            Command::Plan(_) => "plan",
            Command::Apply(_) => "apply",
            Command::Destroy(_) => "destroy",
            Command::List(_) => "list",
            Command::Verify(_) => "verify",
            Command::Migrate(_) => "migrate",
            Command::Doctor(_) => "doctor",
            Command::Usage(_) => "usage",
            Command::Policy(_) => "policy",
            Command::Trust(_) => "trust",
            Command::Audit(_) => "audit",
            Command::Permissions(_) => "permissions",
            Command::Completions(_) => "completions",
            Command::Man => "man",
        }
    }

    /// The arguments of `irsa permissions` that print what this command needs.
    pub fn permissions_of(&self) -> &'static str {
        match self {
            Command::Doctor(DoctorArgs { fix: true, .. }) => "doctor doctor-fix",
            other => other.name(),
        }
    }

    /// Hands the global `--region` to the command that reads it.
    pub fn set_region(&mut self, region: Option<String>) {
        let slot = match self {
            Command::Render(a) => &mut a.region,
            Command::Plan(a) | Command::Destroy(DestroyArgs { common: a, .. }) => {
                &mut a.target.region
            }
            Command::Apply(a) => &mut a.common.target.region,
            Command::List(a) => &mut a.cluster.region,
            Command::Verify(a) => &mut a.subjects.cluster.region,
            Command::Migrate(a) => &mut a.subjects.cluster.region,
            Command::Doctor(a) => &mut a.subjects.cluster.region,
            Command::Usage(a) => &mut a.region,
            Command::Audit(a) => &mut a.region,
            Command::Permissions(a) => &mut a.target.region,
            Command::Presets(PresetsArgs {
                command: Some(PresetsCommand::Show(a)),
                ..
            }) => &mut a.region,
            _ => return,
        };
        *slot = region;
    }
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// A saved `aws iam get-account-authorization-details` dump; without it, the live account.
    #[arg(long, value_name = "FILE")]
    pub snapshot: Option<PathBuf>,
    /// A known cluster (repeatable). Live: NAME, describe only these (default: every cluster of
    /// the region). With --snapshot: NAME=ISSUER_URL, so trust to unknown issuers can be found offline.
    #[arg(long = "cluster", value_name = "NAME[=ISSUER_URL]")]
    pub clusters: Vec<String>,
    #[arg(long, value_enum, default_value_t)]
    pub output: AuditFormat,
    /// Exit 1 when a finding is this severe or worse: info, low, medium, high, critical.
    #[arg(long, default_value = "high", value_name = "SEVERITY")]
    pub fail_on: String,
    /// Tag key every role and customer-managed policy must carry (repeatable).
    #[arg(long = "require-tag", value_name = "KEY")]
    pub require_tags: Vec<String>,
    /// Report roles not used for more than this many days.
    #[arg(long, default_value_t = 90, value_name = "N")]
    pub unused_days: u32,
    /// The global `--region` (AWS region for EKS and CloudTrail).
    #[arg(skip)]
    pub region: Option<String>,
}

/// `irsa audit --output`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum AuditFormat {
    #[default]
    Table,
    Json,
    Sarif,
}

#[derive(Debug, Args)]
pub struct PresetsArgs {
    #[command(subcommand)]
    pub command: Option<PresetsCommand>,
    #[arg(long, value_enum, default_value_t, global = true)]
    pub output: Format,
}

#[derive(Debug, Subcommand)]
pub enum PresetsCommand {
    /// Print a preset's policy document (JSON) or managed policy ARN.
    Show(PresetShowArgs),
}

#[derive(Debug, Args)]
pub struct PresetShowArgs {
    /// Preset name (see `irsa presets`).
    pub name: String,
    /// EKS cluster name (required by presets that scope permissions to the cluster).
    #[arg(long)]
    pub cluster: Option<String>,
    /// The global `--region`.
    #[arg(skip)]
    pub region: Option<String>,
    /// AWS account id (12 digits).
    #[arg(long)]
    pub account: Option<String>,
    /// Preset option, `NAME=VALUE`; repeat a name for a list (`--option kmsKeyArns=…`).
    #[arg(long = "option", value_name = "NAME=VALUE")]
    pub options: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    /// Spec file: irsa.yaml or an eksctl ClusterConfig. Without it, the default bundle
    /// (cluster-autoscaler, efs-csi, ebs-csi).
    #[arg(short = 'f', long = "file")]
    pub file: Option<PathBuf>,
    #[arg(long)]
    pub cluster: Option<String>,
    /// The global `--region`.
    #[arg(skip)]
    pub region: Option<String>,
    /// AWS account id (12 digits).
    #[arg(long)]
    pub account: Option<String>,
    /// The cluster's OIDC issuer URL (`aws eks describe-cluster … cluster.identity.oidc.issuer`);
    /// needed by IRSA bindings, not by EKS Pod Identity ones.
    #[arg(long)]
    pub issuer: Option<String>,
    /// Directory to write into (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long, value_enum, default_value_t)]
    pub output: Format,
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Decide a request through every policy layer given: exit 0 allowed, 1 denied, 2 bad input.
    Eval(Box<PolicyEvalArgs>),
    /// Lint policy documents: exit 1 when a finding is high severity or worse.
    Lint(PolicyLintArgs),
    /// List the lint rules.
    Rules(RulesArgs),
}

#[derive(Debug, Args)]
pub struct PolicyEvalArgs {
    /// Identity-based policy document (raw or URL-encoded JSON); repeat for several.
    #[arg(long = "policy", required = true)]
    pub policies: Vec<PathBuf>,
    /// The principal's permissions boundary: caps the identity-based policies.
    #[arg(long)]
    pub boundary: Option<PathBuf>,
    /// The session policy of the role session: caps the identity-based policies.
    #[arg(long = "session-policy")]
    pub session_policy: Option<PathBuf>,
    /// Service control policies of one level, comma-separated; repeat once per level, from the
    /// organization root to the account. Every level must allow.
    #[arg(long = "scp", value_name = "FILE[,FILE…]")]
    pub scps: Vec<String>,
    /// Resource control policies of one level, comma-separated; repeat once per level, from the
    /// organization root to the resource's account. Every level must allow.
    #[arg(long = "rcp", value_name = "FILE[,FILE…]")]
    pub rcps: Vec<String>,
    /// The resource's resource-based policy (bucket policy, key policy, queue policy…).
    #[arg(long = "resource-policy")]
    pub resource_policy: Option<PathBuf>,
    /// Who makes the request: a role session ARN (`arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`),
    /// a role or user ARN, an account id, or a service principal. Needed with --resource-policy
    /// and --rcp.
    #[arg(long, value_name = "ARN")]
    pub principal: Option<String>,
    /// A tag of the principal, `KEY=VALUE` (sets `aws:PrincipalTag/KEY`); repeatable.
    #[arg(long = "principal-tag", value_name = "KEY=VALUE")]
    pub principal_tags: Vec<String>,
    /// Action, e.g. `autoscaling:SetDesiredCapacity`.
    #[arg(long)]
    pub action: String,
    /// Resource ARN (or `*`).
    #[arg(long)]
    pub resource: String,
    /// Condition key and value, `KEY=VALUE`; a key given several times is multivalued.
    #[arg(long = "context", value_name = "KEY=VALUE")]
    pub context: Vec<String>,
    #[arg(long, value_enum, default_value_t)]
    pub output: Format,
}

#[derive(Debug, Args)]
pub struct PolicyLintArgs {
    /// Policy documents to lint.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// The account the policies belong to (flags trust to providers of other accounts).
    #[arg(long)]
    pub account: Option<String>,
    /// Treat every file as this kind instead of guessing from its principals.
    #[arg(long, value_enum)]
    pub kind: Option<KindArg>,
    #[arg(long, value_enum, default_value_t)]
    pub output: Format,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum KindArg {
    Trust,
    Permissions,
}

#[derive(Debug, Args)]
pub struct RulesArgs {
    #[arg(long, value_enum, default_value_t)]
    pub output: Format,
}

#[derive(Debug, Subcommand)]
pub enum TrustCommand {
    /// May NS/NAME assume the role? Exit 0 yes, 1 no, 2 bad input.
    Check(TrustCheckArgs),
}

#[derive(Debug, Args)]
pub struct TrustCheckArgs {
    /// The role's trust policy (raw or URL-encoded JSON, as `aws iam get-role` prints it).
    #[arg(long)]
    pub trust: PathBuf,
    /// The IAM OIDC provider ARN of the cluster.
    #[arg(long)]
    pub provider_arn: String,
    /// The service account, `NAMESPACE/NAME`.
    #[arg(long)]
    pub service_account: String,
    /// Token audience.
    #[arg(long, default_value = iam_policy::trust::DEFAULT_AUDIENCE)]
    pub audience: String,
    #[arg(long, value_enum, default_value_t)]
    pub output: Format,
}

/// The spec selectors and the cluster connection, shared by plan, apply and destroy.
#[derive(Debug, Args)]
pub struct ProvisionArgs {
    #[command(flatten)]
    pub target: ClusterArgs,
    /// Expected AWS account id; refused if the credentials are for another account.
    #[arg(long)]
    pub account: Option<String>,
    /// Take over roles, policies, service accounts and add-ons of the same name that irsa did not create.
    #[arg(long)]
    pub adopt: bool,
    /// Where apply writes Helm values files.
    #[arg(long, default_value = "irsa-values")]
    pub values_dir: PathBuf,
    #[arg(long, value_enum, default_value_t)]
    pub output: Format,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub common: ProvisionArgs,
    /// Do not ask before changing anything (for CI).
    #[arg(long)]
    pub yes: bool,
    /// Print, last, one line of JSON: api_calls, mutating_calls, critical_path, seconds.
    #[arg(long)]
    pub stats: bool,
    /// Rollout-restart the deployments whose pods run without the new role.
    #[arg(long)]
    pub restart: bool,
    /// Most API calls in flight at once (reads and changes alike).
    #[arg(long, default_value_t = irsa_aws::DEFAULT_MAX_CONCURRENCY)]
    pub concurrency: usize,
    /// After applying, prove each applied service account can assume its role (as `irsa verify`).
    #[arg(long)]
    pub verify: bool,
}

#[derive(Debug, Args)]
pub struct DestroyArgs {
    #[command(flatten)]
    pub common: ProvisionArgs,
    /// Do not ask first.
    #[arg(long)]
    pub yes: bool,
}

/// The spec file or the cluster, and how to reach the cluster's API.
#[derive(Debug, Args)]
pub struct ClusterArgs {
    /// Spec file: irsa.yaml or an eksctl ClusterConfig (plan/apply/destroy without it: the default bundle).
    #[arg(short = 'f', long = "file")]
    pub file: Option<PathBuf>,
    /// EKS cluster name (default: the kubeconfig context's, from its EKS ARN or its
    /// `aws eks get-token` / `aws-iam-authenticator` credentials).
    #[arg(long)]
    pub cluster: Option<String>,
    /// The global `--region` (default: the spec's, then the kubeconfig context's, then
    /// AWS_REGION / AWS_DEFAULT_REGION).
    #[arg(skip)]
    pub region: Option<String>,
    /// kubeconfig file (default: KUBECONFIG, then ~/.kube/config).
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// kubeconfig context (default: the current one); also names the cluster when it is an EKS one.
    #[arg(long)]
    pub context: Option<String>,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Only this namespace.
    #[arg(long)]
    pub namespace: Option<String>,
    #[arg(long, value_enum, default_value_t)]
    pub output: Format,
}

/// Which service accounts a command looks at: one (`--namespace` + `--service-account`), every
/// annotated one (`--all`), or with `-f` the spec's bindings.
#[derive(Debug, Args)]
pub struct SubjectArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// With --service-account: its namespace.
    #[arg(long, requires = "service_account")]
    pub namespace: Option<String>,
    /// This service account (with --namespace).
    #[arg(long, requires = "namespace")]
    pub service_account: Option<String>,
    /// Every service account that has a role annotation or an EKS Pod Identity association.
    #[arg(long, conflicts_with_all = ["namespace", "service_account"])]
    pub all: bool,
}

impl SubjectArgs {
    /// `(namespace, name)` of `--namespace`/`--service-account`, checked against Kubernetes'
    /// naming rules (before any API call).
    pub fn single(&self) -> Result<Option<(String, String)>, String> {
        let (Some(namespace), Some(name)) = (&self.namespace, &self.service_account) else {
            return Ok(None);
        };
        irsa_core::spec::rules::namespace(namespace).map_err(|e| format!("--namespace: {e}"))?;
        irsa_core::spec::rules::service_account_name(name)
            .map_err(|e| format!("--service-account: {e}"))?;
        Ok(Some((namespace.clone(), name.clone())))
    }
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    #[command(flatten)]
    pub subjects: SubjectArgs,
    /// Perform the fixes irsa can do safely: OIDC provider, client id, annotation, trust of roles
    /// irsa created, add-on role, restarts (asks first unless --yes).
    #[arg(long)]
    pub fix: bool,
    /// With --fix: do not ask.
    #[arg(long, requires = "fix")]
    pub yes: bool,
    /// With --fix: also repair the trust of roles irsa did not create (adding a statement).
    #[arg(long, requires = "fix")]
    pub adopt: bool,
    /// List the rules and exit.
    #[arg(long)]
    pub rules: bool,
    #[arg(long, value_enum, default_value_t)]
    pub output: Format,
}

#[derive(Debug, Args)]
pub struct UsageArgs {
    /// Only this role (name or ARN; repeatable). Default: every role with events and every role
    /// whose trust admits an OIDC provider.
    #[arg(long = "role", value_name = "NAME")]
    pub roles: Vec<String>,
    /// How far back: a number and m, h, d or w (at most 90 days, CloudTrail's event history).
    #[arg(long, default_value = "24h", value_name = "DURATION")]
    pub since: String,
    /// The global `--region`: whose CloudTrail event history is read (default: AWS_REGION).
    #[arg(skip)]
    pub region: Option<String>,
    #[arg(long, value_enum, default_value_t)]
    pub output: Format,
}

/// `--to`: the mechanism a migration moves to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MigrateTo {
    PodIdentity,
    Irsa,
}

impl MigrateTo {
    pub fn kind(self) -> irsa_core::identity::Kind {
        match self {
            MigrateTo::PodIdentity => irsa_core::identity::Kind::PodIdentity,
            MigrateTo::Irsa => irsa_core::identity::Kind::Irsa,
        }
    }
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The mechanism to move to.
    #[arg(long, value_enum)]
    pub to: MigrateTo,
    #[command(flatten)]
    pub subjects: SubjectArgs,
    /// Do not ask before changing anything (for CI).
    #[arg(long)]
    pub yes: bool,
    /// With --to pod-identity: once the pods are proven on Pod Identity, drop the OIDC
    /// statement from the role's trust (the OIDC provider itself is never deleted).
    #[arg(long)]
    pub remove_irsa_trust: bool,
    /// Only show the plan: exit 3 when something would change, 0 when nothing.
    #[arg(long)]
    pub plan: bool,
    /// Print, last, one line of JSON: api_calls, mutating_calls, seconds.
    #[arg(long)]
    pub stats: bool,
    /// How long to wait for restarted pods to carry the new mechanism, in seconds.
    #[arg(long, default_value_t = 120, value_name = "SECONDS")]
    pub pods_timeout: u64,
    #[arg(long, value_enum, default_value_t)]
    pub output: Format,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub subjects: SubjectArgs,
    /// Also run the guide's test pod (aws sts get-caller-identity) with the service account.
    #[arg(long)]
    pub pod: bool,
    /// Image of the test pod.
    #[arg(long, default_value = "public.ecr.aws/aws-cli/aws-cli:latest")]
    pub image: String,
    /// Check that the role allows this action (with --resource).
    #[arg(long, requires = "resource")]
    pub action: Option<String>,
    /// Resource ARN for --action.
    #[arg(long, requires = "action")]
    pub resource: Option<String>,
    #[arg(long, value_enum, default_value_t)]
    pub output: Format,
}

/// `irsa permissions --output`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum PermissionsFormat {
    /// The actions per command, in plain English.
    #[default]
    Text,
    /// The catalog per command (actions, resources, conditions, Kubernetes rules).
    Json,
    /// A ready-to-attach IAM policy document.
    Policy,
    /// A Kubernetes ClusterRole manifest.
    Rbac,
}

#[derive(Debug, Args)]
pub struct PermissionsArgs {
    /// The commands (default: all): plan, apply, destroy, list, verify, doctor, doctor-fix,
    /// migrate, audit, usage.
    #[arg(value_name = "COMMAND")]
    pub commands: Vec<String>,
    #[command(flatten)]
    pub target: ClusterArgs,
    /// The AWS account id of the ARNs (default, for --output policy: the caller's, from STS;
    /// otherwise any account).
    #[arg(long)]
    pub account: Option<String>,
    #[arg(long, value_enum, default_value_t)]
    pub output: PermissionsFormat,
}
