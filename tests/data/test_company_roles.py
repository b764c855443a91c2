"""Roles a company defines: permissions from a fixed set, scoped to branches, checked by every service."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from data.db import Database
from data.errors import InvalidInput, PermissionDenied
from data.models import Branch, Job, JobType, Role
from data.permissions import Permission, parse_permissions
from data.services.jobs import JobDraft, assign_job, create_job
from data.services.roles import add_role, edit_role, give_role, list_roles
from data.services.users import add_user, resolve_actor
from dispatch_tui.cli.main import app
from tests.factories import ADMIN, build_world, local

runner = CliRunner()


@pytest.fixture
def world_db(sqlite_db: Database) -> Database:
    """build_world plus J-HVAC, open, needing hvac 2."""
    build_world(sqlite_db)
    draft = JobDraft(JobType.REPAIR, "S1", "Heat pump", 60, skills={"hvac": 2}, ref="J-HVAC", created_at=local(8))
    create_job(sqlite_db, ADMIN, draft)
    return sqlite_db


@pytest.fixture
def planner_db(world_db: Database) -> Database:
    """pat's role `planner` may re-plan and see money, but not assign."""
    add_role(world_db, ADMIN, "planner", frozenset({Permission.REPLAN, Permission.SEE_MONEY}))
    add_user(world_db, ADMIN, "pat", "Pat Planner", Role.DISPATCHER)
    give_role(world_db, ADMIN, "pat", "planner")
    return world_db


def test_a_role_that_cannot_assign_is_refused_by_the_service(planner_db: Database) -> None:
    pat = resolve_actor(planner_db, "pat")
    assert pat.role_name == "planner" and Permission.ASSIGN not in pat.permissions and not pat.read_only
    with pytest.raises(PermissionDenied, match=r"pat.s role planner cannot assign jobs \(needs the assign"):
        assign_job(planner_db, pat, "J-HVAC", "T1", local(10))


def test_a_role_that_cannot_assign_is_refused_in_the_cli(planner_db: Database) -> None:
    refused = runner.invoke(app, ["--db", planner_db.url, "--as", "pat", "jobs", "assign", "J-HVAC", "T1"])
    assert refused.exit_code == 2, refused.output
    assert "pat's role planner cannot assign jobs" in refused.stderr
    with planner_db.read() as s:
        assert s.scalar(select(Job.technician_id).where(Job.ref == "J-HVAC")) is None


def test_a_role_scoped_to_another_branch_cannot_assign_here(world_db: Database) -> None:
    with world_db.write_session() as s, s.begin():
        s.add(Branch(code="TRE", name="Tampere", timezone="Europe/Helsinki", depot_lat=61.5, depot_lon=23.8))
    add_role(world_db, ADMIN, "tampere-desk", frozenset({Permission.ASSIGN}), ["TRE"])
    add_user(world_db, ADMIN, "tia", "Tia", Role.DISPATCHER)
    give_role(world_db, ADMIN, "tia", "tampere-desk")
    tia = resolve_actor(world_db, "tia")
    with pytest.raises(PermissionDenied, match="cannot assign job J-HVAC in this branch"):
        assign_job(world_db, tia, "J-HVAC", "T1", local(10))
    edit_role(world_db, ADMIN, "tampere-desk", branches=[])  # every branch again
    assert assign_job(world_db, resolve_actor(world_db, "tia"), "J-HVAC", "T1", local(10)).job.technician_id


def test_roles_are_defined_by_admins_from_the_fixed_set_only(world_db: Database) -> None:
    with pytest.raises(InvalidInput, match="unknown permission 'fly'"):
        parse_permissions("assign,fly")
    with pytest.raises(InvalidInput, match="is a built-in role"):
        add_role(world_db, ADMIN, "supervisor", frozenset())
    with pytest.raises(InvalidInput, match="no branch XYZ"):
        add_role(world_db, ADMIN, "x-desk", frozenset({Permission.ASSIGN}), ["XYZ"])
    dana = resolve_actor(world_db, "dana")
    with pytest.raises(PermissionDenied, match="only an admin can define roles"):
        add_role(world_db, dana, "mine", frozenset(Permission))
    names = [r.name for r in list_roles(world_db)]
    assert names[:3] == ["dispatcher", "supervisor", "admin"]


def test_roles_cli_add_edit_list_give(world_db: Database) -> None:
    def run(*args: str) -> str:
        result = runner.invoke(app, ["--db", world_db.url, "--as", "ada", *args])
        assert result.exit_code == 0, result.output
        return result.stdout

    run("roles", "add", "billing", "--permissions", "see_money", "--description", "Invoices only")
    run("roles", "edit", "billing", "--permissions", "see-money,edit_master_data", "--branches", "HEL")
    run("roles", "give", "dana", "billing")
    listed = {r["name"]: r for r in json.loads(run("roles", "list", "--json"))}
    assert listed["billing"]["permissions"] == ["edit_master_data", "see_money"]
    assert listed["billing"]["branches"] == ["HEL"] and listed["billing"]["users"] == ["dana"]
    assert "dana" not in listed["dispatcher"]["users"] and listed["admin"]["built_in"]
    run("roles", "give", "dana", "dispatcher")
    assert Permission.ASSIGN in resolve_actor(world_db, "dana").permissions


def test_the_last_admin_cannot_be_given_a_company_role(world_db: Database) -> None:
    add_role(world_db, ADMIN, "planner", frozenset({Permission.REPLAN}))
    with pytest.raises(InvalidInput, match="is the last active admin"):
        give_role(world_db, ADMIN, "ada", "planner")
    assert resolve_actor(world_db, "ada").role is Role.ADMIN
