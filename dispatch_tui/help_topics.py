"""Help inside the product, written once: what each view's columns and glyphs mean, topics, first steps.

The console's `?` screen and `dispatch help TOPIC` both read from here (this module imports no Textual,
so the CLI stays light); the keys themselves come from the declared bindings, never from prose.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from data.queries.first_run import Progress

DOCS = "docs/"  # in the source tree and the release archive


@dataclass(frozen=True)
class ViewHelp:
    intro: str
    columns: dict[str, str] = field(default_factory=dict)
    """Column label, as the table heads it -> what it holds."""
    glyphs: tuple[tuple[str, str], ...] = ()
    """Glyph (Unicode, then its --ascii stand-in) -> what it marks."""
    doc: str = "console.md"


VIEW_HELP: dict[str, ViewHelp] = {
    "technicians": ViewHelp(
        "Every technician of the branch today, live: who is where, who is running late, who has room.",
        {
            "Tech": "the technician's code",
            "Status": "live status from the phone: available, en route, on site, on break, off",
            "Now": "the job they are on now",
            "Next": "their next job and its planned start",
            "On time": "how late the running or next job is against its plan",
            "Load": "planned minutes over shift minutes; red past 100 %, yellow past 85 %",
            "Name": "the technician's name",
            "Skills": "skills with levels (hvac:3 = level 3)",
        },
        (("█▌ / #.", "load bar: share of the shift already planned, in eighths"),),
    ),
    "jobs": ViewHelp(
        "The queue: late and at-risk jobs first, then unassigned ones, then the rest of the day.",
        {
            "Job": "the job's reference",
            "P": "priority, 1 (emergency) to 5",
            "Risk": "late (SLA passed) or at risk (SLA due soon and not done)",
            "SLA": "when the service-level agreement falls due, branch time",
            "Tech": "the assigned technician (blank: unassigned)",
            "Status": "new, scheduled, dispatched, en route, on site, paused, completed, ...",
            "Window": "the arrival window promised to the customer",
            "Skills": "skills and minimum levels the job needs",
            "Age": "how long ago the job came in",
            "Customer": "who the work is for",
            "Summary": "what is to be done",
        },
    ),
    "board": ViewHelp(
        "The schedule board: one lane per technician, time left to right, job blocks where they are planned.",
        {},
        (
            ("╎ / :", "an hour line"),
            ("· / .", "travel to the next job"),
            ("≈ / ~", "a break"),
            ("░ / /", "an absence (sick, vacation, training)"),
            ("!", "a priority-1 job (at the start of its block)"),
            ("*", "a pinned job: re-planning leaves it where it is"),
            ("▼ / v", "now"),
            ("● / *", "the technician's live status colour"),
        ),
    ),
    "map": ViewHelp(
        "Technicians, jobs and depots on the branch's map; the cursor job and its technician highlighted.",
        {},
        (
            ("● / @", "a technician at their last known position"),
            ("▲ / !", "a priority-1 job"),
            ("◆ / *", "a priority-2 job"),
            ("• / +", "any other job"),
            ("⌂ / H", "the depot"),
        ),
    ),
    "calendar": ViewHelp("The month: planned work per day; enter opens the day on the board."),
    "deliveries": ViewHelp(
        "What was sent to each connected system (CRM, accounting, payroll, webhooks), and what gave up.",
        {
            "Id": "the delivery's id (dispatch deliveries show ID)",
            "Status": "pending, in flight, retrying, delivered or dead (gave up; retry or skip it)",
            "Connector": "the connected system",
            "Event": "the event it carries",
            "Subject": "the job, technician or invoice the event is about",
            "Tries": "attempts so far",
            "Next try": "when it is sent again (retries back off, honouring the vendor's Retry-After)",
            "Last error": "what the system answered last time",
        },
        doc="integrations.md",
    ),
}


@dataclass(frozen=True)
class Topic:
    title: str
    text: str
    doc: str


TOPICS: dict[str, Topic] = {
    "start": Topic(
        "First steps for a new company",
        "1. A branch: dispatch branches add HEL --name Helsinki --timezone Europe/Helsinki "
        "--depot-lat 60.17 --depot-lon 24.94\n"
        "2. Import what you have: dispatch import technicians technicians.csv; dispatch import customers "
        "customers.csv (--dry-run first; a bad row names its field and nothing lands)\n"
        "3. A first technician by hand, if none were imported: dispatch technicians add T1 --help shows the fields\n"
        "4. A first job: dispatch jobs create --help (or import jobs jobs.csv)\n"
        "5. A first plan: dispatch schedule --date today --apply, or R in the console (re-plan the day)\n"
        "Then open the console (dispatch console) and press ? on any view.",
        "operations.md",
    ),
    "console": Topic(
        "The console",
        "Views by number key (1 technicians, 2 jobs, 3 board, 4 map, 5 calendar, 6 deliveries); a key acts on the "
        "record under the cursor of the view you see; : opens the command line, ctrl+p the palette of every "
        "action, ? the keys and columns of the view, u undoes your last change. --no-mouse and --ascii for SSH.",
        "console.md",
    ),
    "roles": Topic(
        "Roles and permissions",
        "Built in: dispatcher, supervisor (read-only), admin. An admin defines more from the permissions assign, "
        "replan, edit_master_data, see_money, manage_integrations, issue_tokens, optionally only in some branches: "
        "dispatch roles add NAME --permissions assign,replan --branches HEL; dispatch roles give LOGIN NAME; "
        "dispatch roles list. Every service checks them; the console hides what a role cannot do and says why.",
        "operations.md",
    ),
    "messages": Topic(
        "Messages with the field",
        "A thread per job and per technician. dispatch messages send --job J000123 'text' (--customer for a "
        "customer-facing one, which connectors may forward); dispatch messages list shows unread counts, "
        "dispatch messages list --job J000123 the thread (and marks it read). Technicians read and write in their "
        "app, offline too. The console's title shows the unread count and announces each new message.",
        "field-app.md",
    ),
    "secrets": Topic(
        "Secrets and encryption at rest",
        "OAuth tokens, webhook secrets (dispatch secrets set NAME --stdin) and the field API tokens' pepper are "
        "encrypted with the key in DISPATCH_SECRET_KEY or the 0600 secret.key; dispatch secrets rotate re-encrypts "
        "them under a new key. The rest of the database is the disk's to encrypt.",
        "operations.md",
    ),
    "backup": Topic(
        "Backups",
        "dispatch db backup FILE [--encrypt]; dispatch db backup DIR --schedule --encrypt --keep-days 14 is what "
        "the nightly systemd timer runs; dispatch db restore FILE refuses a backup its key cannot open.",
        "operations.md",
    ),
}


def topic_names() -> list[str]:
    return sorted([*TOPICS, *VIEW_HELP])


def view_text(name: str) -> str:
    """A view's help as plain text (the CLI's `dispatch help board`)."""
    h = VIEW_HELP[name]
    lines = [h.intro]
    if h.columns:
        lines += ["", "Columns:"] + [f"  {label:<10} {meaning}" for label, meaning in h.columns.items()]
    if h.glyphs:
        lines += ["", "Glyphs (Unicode / --ascii):"] + [f"  {glyph:<10} {meaning}" for glyph, meaning in h.glyphs]
    lines += ["", f"Keys: press ? in the console on this view. More: {DOCS}{h.doc}"]
    return "\n".join(lines)


@dataclass(frozen=True)
class Step:
    done: bool
    title: str
    how: str


def first_steps(progress: Progress) -> list[Step]:
    """Where a new company stands on the way to its first plan, and the command for each step left."""
    return [
        Step(progress.branches > 0, "a branch", "dispatch branches add CODE --name ... --timezone ..."),
        Step(progress.technicians > 0, "technicians", "dispatch import technicians FILE.csv (or technicians add)"),
        Step(progress.customers > 0, "customers and sites", "dispatch import customers FILE.csv"),
        Step(progress.jobs > 0, "a first job", "dispatch jobs create ... (or import jobs FILE.csv)"),
        Step(progress.planned > 0, "a first plan", "R in the console, or dispatch schedule --date today --apply"),
    ]
