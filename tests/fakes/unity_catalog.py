"""An in-memory fake of the Unity Catalog (UC) model registry, for offline tests.

It answers the two REST surfaces MLflow 3.17 speaks to UC:

* the legacy Databricks surface ``/api/2.0/mlflow/unity-catalog/*`` (``UcModelRegistryStore``,
  registry URI ``databricks-uc[://profile]``), answers shaped like
  ``mlflow.protos.databricks_uc_registry_messages_pb2``;
* the UC surface ``/api/2.1/unity-catalog/models*`` + ``/temporary-model-version-credentials``
  (``UcNativeModelRegistryStore`` when ``MLFLOW_ENABLE_UC_NATIVE_MODEL_REGISTRY=true``, and the
  OSS ``UnityCatalogOssStore`` for ``uc:http://host:port``), answers shaped like
  ``mlflow.protos.unity_catalog_messages_pb2``.

and, for the ``databricks`` flavor, model grants: ``GET|PATCH /api/2.1/unity-catalog/permissions/function/
{full_name}`` and ``GET .../effective-permissions/function/{full_name}`` (privileges ``ALL_PRIVILEGES``,
``APPLY_TAG``, ``EXECUTE``, ``MANAGE``; a grant to a principal not added with ``add_principal`` is refused with
``PRINCIPAL_DOES_NOT_EXIST``; ``grant_on_schema`` makes grants the schema's models inherit).

``handle()`` is HTTP-free, so a fake Databricks workspace can mount it (after its own bearer-token
check); ``serve()`` runs it alone on 127.0.0.1 for the OSS ``uc:`` registry URI (no auth).

Model files are never held here: a new version gets a ``storage_location`` under ``storage_root``
and the *client* writes the files there (``s3://`` = a moto S3 server reached through
``MLFLOW_S3_ENDPOINT_URL`` with the dummy temporary credentials handed out below; ``file://`` = a
local directory). ``finalize`` reads the version's ``MLmodel`` back from that storage and refuses a
model without a full signature. Storage is keyed by ids, as in UC (a rename moves no files):
``<root>/models/<model-uuid>/versions/<version-uuid>`` (databricks) or
``<root>/<catalog-uuid>/<schema-uuid>/models/<model-uuid>/versions/<version-uuid>`` (oss, as
``FileOperations.getModelVersionStorageLocation``); ``storage_location(name, version)`` looks it up.

Two flavors:
  ``flavor="databricks"`` (default): Databricks error codes and wording (``RESOURCE_DOES_NOT_EXIST:
  Routine or Model '<name>' does not exist.``), names stored lowercase, deleting a model deletes
  its versions, aliases and tags on both surfaces.
  ``flavor="oss"``: the open-source UC server (unitycatalog/unitycatalog ``ModelRepository``,
  ``ModelService``): gRPC-style error codes (``NOT_FOUND``, ``ALREADY_EXISTS``,
  ``INVALID_ARGUMENT``), names kept as given (``[a-zA-Z0-9_@-]+``), deleting a model that still has
  versions needs ``force=true``, DELETE answers an empty 200 body, no aliases or tags, and no legacy
  ``/api/2.0`` surface.
Wording marked ``(guess)`` in ``_Errors`` has no public source; everything else is copied from
real server output or server source.
"""
import base64
import json
import os
import re
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LEGACY_PREFIX = "/api/2.0/mlflow/unity-catalog/"
UC_PREFIX = "/api/2.1/unity-catalog/"

PENDING, READY, FAILED = "PENDING_REGISTRATION", "READY", "FAILED_REGISTRATION"
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 10000

# What real UC (and MLflow's client check, rest_store.py::_validate_model_signature) say about a model
# that cannot go into Unity Catalog.
_SIGNATURE_EXPLANATION = (
    "All models in the Unity Catalog must be logged with a model signature containing both input "
    "and output type specifications. See "
    "https://mlflow.org/docs/latest/model/signatures.html#how-to-log-models-with-signatures"
    " for details on how to log a model with a signature")
MSG_NO_MLMODEL = (
    "Unable to load model metadata. Ensure the source path of the model being registered points to "
    "a valid MLflow model directory (see https://mlflow.org/docs/latest/models.html#storage-format) "
    "containing a model signature (https://mlflow.org/docs/latest/models.html#model-signature) "
    "specifying both input and output type specifications.")
MSG_NO_SIGNATURE = ("Model passed for registration did not contain any signature metadata. "
                    + _SIGNATURE_EXPLANATION)
MSG_INPUTS_ONLY = ("Model passed for registration contained a signature that includes only inputs. "
                   + _SIGNATURE_EXPLANATION)

_DBX_BAD_CHARS = re.compile(r"[ ./\x00-\x1f\x7f]")
_OSS_NAME = re.compile(r"[a-zA-Z0-9_@-]+")


class UcError(Exception):
    def __init__(self, status, error_code, message):
        super().__init__(f"{error_code}: {message}")
        self.status, self.error_code, self.message = status, error_code, message


class _Errors:
    """Error answers per flavor. Sources: Databricks server output quoted in public issues and
    notebooks (``Bad model name: ...``, ``Routine or Model '...' does not exist.``, ``Routine or Model
    '...' already exists``, ``Unsupported filter query ...``); unitycatalog/unitycatalog
    ``ModelRepository`` / ``TemporaryModelVersionCredentialsService`` / ``ValidationUtils`` for OSS."""

    def __init__(self, flavor):
        self.oss = flavor == "oss"

    def bad_name(self, full_name):
        if self.oss:
            return UcError(400, "INVALID_ARGUMENT", f"Invalid registered model name: {full_name}")
        return UcError(400, "INVALID_PARAMETER_VALUE",
                       "Bad model name: please specify all three levels of the model in the form "
                       "`catalog_name.schema_name.model_name`")

    def bad_chars(self, part):
        if self.oss:
            if not part:
                return UcError(400, "INVALID_ARGUMENT", "Name cannot be empty")
            if len(part) > 255:
                return UcError(400, "INVALID_ARGUMENT", "Name cannot be longer than 255 characters")
            return UcError(400, "INVALID_ARGUMENT",
                           "Name cannot contain a period, space, forward-slash, or control characters")
        return UcError(400, "INVALID_PARAMETER_VALUE",  # (guess) rules from the UC naming docs
                       f"Invalid name '{part}': object names cannot exceed 255 characters and cannot "
                       "contain a period, a space, a forward slash, ASCII control characters or DEL.")

    def no_catalog(self, catalog, schema):
        if self.oss:  # the OSS server looks the schema up first
            return UcError(404, "NOT_FOUND", f"Schema not found: {schema}")
        return UcError(404, "CATALOG_DOES_NOT_EXIST", f"Catalog '{catalog}' does not exist.")

    def no_schema(self, catalog, schema):
        if self.oss:
            return UcError(404, "NOT_FOUND", f"Schema not found: {schema}")
        return UcError(404, "SCHEMA_DOES_NOT_EXIST", f"Schema '{catalog}.{schema}' does not exist.")

    def no_model(self, full_name):
        if self.oss:
            return UcError(404, "NOT_FOUND", f"Registered model not found: {full_name}")
        return UcError(404, "RESOURCE_DOES_NOT_EXIST", f"Routine or Model '{full_name}' does not exist.")

    def no_version(self, full_name, version):
        if self.oss:
            return UcError(404, "NOT_FOUND", f"Model version not found: {full_name}/{version}")
        return UcError(404, "RESOURCE_DOES_NOT_EXIST",  # (guess)
                       f"Model version {version} of Routine or Model '{full_name}' does not exist.")

    def no_alias(self, full_name, alias):
        return UcError(404, "RESOURCE_DOES_NOT_EXIST",  # (guess)
                       f"Alias '{alias}' does not exist for Routine or Model '{full_name}'.")

    def exists(self, full_name, model):
        if self.oss:
            return UcError(409, "ALREADY_EXISTS", f"Registered model already exists: {full_name}")
        return UcError(400, "RESOURCE_ALREADY_EXISTS", f"Routine or Model '{model}' already exists")

    def invalid(self, message):
        return UcError(400, "INVALID_ARGUMENT" if self.oss else "INVALID_PARAMETER_VALUE", message)

    def not_pending(self, full_name, version):
        return self.invalid(f"Model version not in a pending registration state: {full_name}/{version}")


class _Model:
    def __init__(self, catalog, schema, name, storage_location, now, user):
        self.id = str(uuid.uuid4())
        self.catalog, self.schema, self.name = catalog, schema, name
        self.storage_location = storage_location
        self.description = None
        self.tags = {}
        self.aliases = {}  # alias -> int version
        self.versions = {}  # int -> _Version
        self.max_version = 0
        self.created = self.updated = now
        self.created_by = self.updated_by = user
        self.deployment_job_id = None
        self.grants = {}  # principal -> set of privileges granted on the model itself

    @property
    def full_name(self):
        return f"{self.catalog}.{self.schema}.{self.name}"


class _Version:
    def __init__(self, version, storage_location, now, user):
        self.version = version
        self.id = str(uuid.uuid4())
        self.storage_location = storage_location
        self.status = PENDING
        self.status_message = None
        self.finalized = False
        self.ready_at = None
        self.created = self.updated = now
        self.created_by = self.updated_by = user
        self.source = self.run_id = self.description = self.model_id = None
        self.run_tracking_server_id = self.feature_deps = self.dependencies = None
        self.tags = {}


def _now_ms():
    return int(time.time() * 1000)


def _encode_token(value):
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


def _decode_token(token, errors):
    try:
        return json.loads(base64.urlsafe_b64decode(token.encode()).decode())
    except Exception:
        raise errors.invalid(f"Invalid page token received: {token}")


def _as_int(value, errors, what):
    try:
        return int(value)
    except (TypeError, ValueError):
        raise errors.invalid(f"Invalid {what}: {value!r}")


def _truthy(value):
    return str(value).lower() in ("true", "1")


class FakeUnityCatalog:
    """In-memory, thread-safe UC model registry. See the module docstring.

    Args:
        storage_root: ``s3://bucket/prefix`` (credentials handed out as ``aws_temp_credentials`` with
            the dummy keys ``testing``/``testing``, ``storage_mode=CUSTOMER_HOSTED``) or
            ``file:///dir``.
        catalogs: ``{catalog: [schema, ...]}`` that exist.
        ready_delay: seconds a version stays ``PENDING_REGISTRATION`` after a successful finalize.
        strict: parse every answer with MLflow's protos (``ignore_unknown_fields=False``) and every
            request body with the request proto; a drifted answer becomes a 500 and is recorded in
            ``contract_errors``.
        flavor: ``"databricks"`` or ``"oss"`` (see the module docstring).
        user: the ``user_id`` / ``created_by`` recorded (``handle(user=...)`` overrides per call).
        s3_endpoint_url: where finalize reads ``MLmodel`` back for ``s3://`` storage (default: the
            ``MLFLOW_S3_ENDPOINT_URL`` environment variable at finalize time).
        check_signature: refuse versions whose ``MLmodel`` lacks a full signature.
    """

    def __init__(self, storage_root, catalogs=None, ready_delay=0.0, strict=True, flavor="databricks",
                 user="fake.user@example.com", s3_endpoint_url=None, check_signature=True):
        if flavor not in ("databricks", "oss"):
            raise ValueError(f"flavor must be 'databricks' or 'oss', not {flavor!r}")
        parsed = urllib.parse.urlparse(storage_root)
        if parsed.scheme not in ("s3", "file"):
            raise ValueError(f"storage_root must be s3://... or file:///..., not {storage_root!r}")
        self.storage_root = storage_root.rstrip("/")
        self.ready_delay = ready_delay
        self.strict = strict
        self.flavor = flavor
        self.user = user
        self.s3_endpoint_url = s3_endpoint_url
        self.check_signature = check_signature
        self.metastore_id = str(uuid.uuid4())
        self.errors = _Errors(flavor)
        self.requests = []  # (method, path, status)
        self.contract_errors = []  # (method, path, message)
        self._catalogs = {}  # name -> {"id":..., "schemas": {name: id}}
        self._models = {}  # (catalog, schema, name) -> _Model
        self._principals = {user, "account users"}  # account-level users and groups grants may name
        self._schema_grants = {}  # (catalog, schema) -> {principal: set of privileges}, inherited by models
        self._lock = threading.RLock()
        self._server = None
        self._thread = None
        for catalog, schemas in (catalogs if catalogs is not None else {"main": ["default"]}).items():
            self.add_catalog(catalog, schemas)

    # ------------------------------------------------------------------ setup and inspection
    def _key(self, name):
        return name if self.flavor == "oss" else name.lower()

    def add_catalog(self, name, schemas=()):
        with self._lock:
            entry = self._catalogs.setdefault(self._key(name), {"id": str(uuid.uuid4()), "schemas": {}})
            for schema in schemas:
                entry["schemas"].setdefault(self._key(schema), str(uuid.uuid4()))

    def add_schema(self, catalog, schema):
        self.add_catalog(catalog, [schema])

    def add_principal(self, name):
        """Make an account-level user, group or service principal known: grants may name it."""
        with self._lock:
            self._principals.add(name)

    def grant_on_schema(self, catalog, schema, principal, privileges):
        """A grant on a schema, which its models inherit (effective permissions name it as inherited)."""
        with self._lock:
            key = self._resolve_schema(catalog, schema)
            self._schema_grants.setdefault(key, {}).setdefault(principal, set()).update(privileges)

    def grants(self, full_name):
        """{principal: sorted privileges} granted on the model itself."""
        with self._lock:
            return {p: sorted(privs) for p, privs in self._lookup_model(full_name).grants.items() if privs}

    def model_names(self):
        with self._lock:
            return sorted(m.full_name for m in self._models.values())

    def version_record(self, full_name, version):
        """A snapshot of everything stored for a version, including fields no answer carries
        (``feature_deps``, ``dependencies``, ``run_tracking_server_id``, ``finalized``)."""
        with self._lock:
            model = self._lookup_model(full_name)
            v = self._lookup_version(model, version)
            record = {k: val for k, val in vars(v).items()}
            record["status"] = self._status(v)
            record["tags"] = dict(v.tags)
            record["aliases"] = sorted(a for a, n in model.aliases.items() if n == v.version)
            return record

    def storage_location(self, full_name, version):
        return self.version_record(full_name, version)["storage_location"]

    # ------------------------------------------------------------------ HTTP-free entry point
    def handle(self, method, path, params=None, body=None, user=None):
        """Answer one request. ``params``: query parameters (str or list-of-str values); ``body``: the
        decoded JSON body or None. Returns ``(status, body_dict)`` -- ``body_dict`` is None for an
        empty body (OSS DELETE) -- or None when the path is not part of this fake's surface (other
        ``/api/2.1/unity-catalog/*`` services, UC prompts), so a workspace shim can try elsewhere."""
        method = method.upper()
        path = urllib.parse.urlsplit(path).path
        if path.startswith(LEGACY_PREFIX):
            route = self._route_legacy
        elif path.startswith(UC_PREFIX):
            route = self._route_uc
        else:
            return None
        args = {}
        for key, value in (params or {}).items():
            args[key] = value[0] if isinstance(value, (list, tuple)) and value else value
        if isinstance(body, dict):
            args.update(body)
        with self._lock:
            try:
                found = route(method, path, args, body, user or self.user)
                if found is None:
                    return None
                status, answer, response_cls = found
                if self.strict and response_cls is not None and answer is not None:
                    problem = self._check_contract(answer, response_cls)
                    if problem:
                        self.contract_errors.append((method, path, problem))
                        status, answer = 500, {"error_code": "INTERNAL_ERROR",
                                               "message": f"fake UC contract violation: {problem}"}
            except UcError as e:
                status, answer = e.status, {"error_code": e.error_code, "message": e.message}
                if self.flavor == "oss" and path.startswith(UC_PREFIX):
                    answer["details"] = [{"@type": "google.rpc.ErrorInfo", "reason": e.error_code}]
            self.requests.append((method, path, status))
            return status, answer

    @staticmethod
    def _check_contract(answer, response_cls):
        from google.protobuf.json_format import ParseDict
        try:
            ParseDict(answer, response_cls(), ignore_unknown_fields=False)
        except Exception as e:  # ParseError, TypeError, ...
            return f"{response_cls.__name__}: {e}"
        return None

    def _check_request(self, body, request_cls):
        if not self.strict or request_cls is None or not isinstance(body, dict):
            return
        from google.protobuf.json_format import ParseDict
        try:
            ParseDict(body, request_cls(), ignore_unknown_fields=True)
        except Exception as e:
            raise UcError(400, "MALFORMED_REQUEST" if self.flavor == "databricks" else "INVALID_ARGUMENT",
                          f"Invalid JSON given in the body of the request: {e}")

    @staticmethod
    def _endpoint_not_found(method, path):
        return UcError(404, "ENDPOINT_NOT_FOUND", f"No API found for '{method} {path}'")

    # ------------------------------------------------------------------ routing
    def _route_legacy(self, method, path, args, body, user):
        from mlflow.protos import databricks_uc_registry_messages_pb2 as pb
        suffix = path[len(LEGACY_PREFIX):]
        if suffix.startswith(("prompts", "prompt-versions")):
            return None  # UC prompts: not part of this fake
        if self.flavor == "oss":
            raise self._endpoint_not_found(method, path)
        table = {
            ("POST", "registered-models/create"): (self._rm_create, pb.CreateRegisteredModelRequest,
                                                   pb.CreateRegisteredModelResponse),
            ("GET", "registered-models/get"): (self._rm_get, None, pb.GetRegisteredModelResponse),
            ("PATCH", "registered-models/update"): (self._rm_update, pb.UpdateRegisteredModelRequest,
                                                    pb.UpdateRegisteredModelResponse),
            ("DELETE", "registered-models/delete"): (self._rm_delete, pb.DeleteRegisteredModelRequest,
                                                     pb.DeleteRegisteredModelResponse),
            ("GET", "registered-models/search"): (self._rm_search, None,
                                                  pb.SearchRegisteredModelsResponse),
            ("POST", "registered-models/set-tag"): (self._rm_set_tag, pb.SetRegisteredModelTagRequest,
                                                    pb.SetRegisteredModelTagResponse),
            ("DELETE", "registered-models/delete-tag"): (
                self._rm_delete_tag, pb.DeleteRegisteredModelTagRequest,
                pb.DeleteRegisteredModelTagResponse),
            ("POST", "registered-models/alias"): (self._alias_set, pb.SetRegisteredModelAliasRequest,
                                                  pb.SetRegisteredModelAliasResponse),
            ("GET", "registered-models/alias"): (self._alias_get, None, pb.GetModelVersionByAliasResponse),
            ("DELETE", "registered-models/alias"): (
                self._alias_delete, pb.DeleteRegisteredModelAliasRequest,
                pb.DeleteRegisteredModelAliasResponse),
            ("GET", "registered-models:is-databricks-sdk-models-artifact-repository-enabled"): (
                lambda a, u: {"is_databricks_sdk_models_artifact_repository_enabled": False}, None,
                pb.IsDatabricksSdkModelsArtifactRepositoryEnabledResponse),
            ("POST", "model-versions/create"): (self._mv_create, pb.CreateModelVersionRequest,
                                                pb.CreateModelVersionResponse),
            ("GET", "model-versions/get"): (self._mv_get, None, pb.GetModelVersionResponse),
            ("PATCH", "model-versions/update"): (self._mv_update, pb.UpdateModelVersionRequest,
                                                 pb.UpdateModelVersionResponse),
            ("DELETE", "model-versions/delete"): (self._mv_delete, pb.DeleteModelVersionRequest,
                                                  pb.DeleteModelVersionResponse),
            ("GET", "model-versions/search"): (self._mv_search, None, pb.SearchModelVersionsResponse),
            ("POST", "model-versions/finalize"): (self._mv_finalize, pb.FinalizeModelVersionRequest,
                                                  pb.FinalizeModelVersionResponse),
            ("POST", "model-versions/generate-temporary-credentials"): (
                self._mv_credentials, pb.GenerateTemporaryModelVersionCredentialsRequest,
                pb.GenerateTemporaryModelVersionCredentialsResponse),
            ("GET", "model-versions/get-download-uri"): (self._mv_download_uri, None,
                                                         pb.GetModelVersionDownloadUriResponse),
            ("POST", "model-versions/set-tag"): (self._mv_set_tag, pb.SetModelVersionTagRequest,
                                                 pb.SetModelVersionTagResponse),
            ("DELETE", "model-versions/delete-tag"): (self._mv_delete_tag, pb.DeleteModelVersionTagRequest,
                                                      pb.DeleteModelVersionTagResponse),
            ("POST", "model-versions/emit-lineage"): (self._mv_emit_lineage,
                                                      pb.EmitModelVersionLineageRequest,
                                                      pb.EmitModelVersionLineageResponse),
        }
        entry = table.get((method, suffix))
        if entry is None:
            raise self._endpoint_not_found(method, path)
        handler, request_cls, response_cls = entry
        self._check_request(body, request_cls)
        return 200, handler(args, user), response_cls

    def _route_uc(self, method, path, args, body, user):
        from mlflow.protos import unity_catalog_messages_pb2 as pb
        parts = [urllib.parse.unquote(p) for p in path[len(UC_PREFIX):].split("/")]
        dbx = self.flavor == "databricks"
        route = None
        if parts == ["models"]:
            route = {"GET": (self._uc_rm_list, None, pb.ListRegisteredModels.Response),
                     "POST": (self._uc_rm_create, pb.CreateRegisteredModel, pb.RegisteredModelInfo)}
        elif parts == ["models", "versions"]:
            route = {"POST": (self._uc_mv_create, pb.CreateModelVersion, pb.ModelVersionInfo)}
        elif parts == ["temporary-model-version-credentials"]:
            route = {"POST": (self._uc_credentials, pb.GenerateTemporaryModelVersionCredential,
                              pb.TemporaryCredentials)}
        elif parts[0] == "models" and len(parts) == 2:
            args["full_name"] = parts[1]
            route = {"GET": (self._uc_rm_get, None, pb.RegisteredModelInfo),
                     "PATCH": (self._uc_rm_update, pb.UpdateRegisteredModel, pb.RegisteredModelInfo),
                     "DELETE": (self._uc_rm_delete, pb.DeleteRegisteredModel,
                                pb.DeleteRegisteredModel.Response)}
        elif parts[0] == "models" and len(parts) == 3 and parts[2] == "versions":
            args["full_name"] = parts[1]
            route = {"GET": (self._uc_mv_list, None, pb.ListModelVersions.Response)}
        elif parts[0] == "models" and len(parts) in (4, 5) and parts[2] == "versions":
            args["full_name"], args["version"] = parts[1], parts[3]
            if len(parts) == 5:
                route = {"PATCH": (self._uc_mv_finalize, pb.FinalizeModelVersion, pb.ModelVersionInfo)
                         } if parts[4] == "finalize" else None
            else:
                route = {"GET": (self._uc_mv_get, None, pb.ModelVersionInfo),
                         "PATCH": (self._uc_mv_update, pb.UpdateModelVersion, pb.ModelVersionInfo),
                         "DELETE": (self._uc_mv_delete, pb.DeleteModelVersion,
                                    pb.DeleteModelVersion.Response)}
        elif parts[0] == "models" and len(parts) == 4 and parts[2] == "aliases" and dbx:
            args["full_name"], args["alias"] = parts[1], parts[3]
            route = {"GET": (self._uc_alias_get, None, pb.ModelVersionInfo),
                     "PUT": (self._uc_alias_set, pb.SetRegisteredModelAlias, pb.RegisteredModelAliasInfo),
                     "DELETE": (self._uc_alias_delete, pb.DeleteRegisteredModelAlias,
                                pb.DeleteRegisteredModelAlias.Response)}
        elif parts[0] == "securable-tags" and len(parts) == 3 and parts[1].upper() == "FUNCTION" and dbx:
            args["full_name"] = parts[2]
            route = {"PATCH": (self._uc_rm_tags, pb.UpdateTagSecurableAssignments,
                               pb.UpdateTagSecurableAssignments.Response)}
        elif parts[0] == "subentity-tags" and len(parts) == 4 and parts[1].upper() == "FUNCTION" and dbx:
            args["full_name"], args["version"] = parts[2], parts[3]
            route = {"PATCH": (self._uc_mv_tags, pb.UpdateTagSubentityAssignments,
                               pb.UpdateTagSubentityAssignments.Response)}
        elif parts[0] in ("permissions", "effective-permissions") and len(parts) == 3 and \
                parts[1].upper() == "FUNCTION" and dbx:
            args["full_name"] = parts[2]
            if parts[0] == "permissions":
                route = {"GET": (self._grants_get, None, None), "PATCH": (self._grants_update, None, None)}
            else:
                route = {"GET": (self._grants_effective, None, None)}
        elif parts[0] in ("models", "temporary-model-version-credentials", "securable-tags",
                          "subentity-tags"):
            raise self._endpoint_not_found(method, path)
        else:
            return None  # catalogs, schemas, permissions, ...: not this fake's surface
        if route is None or method not in route:
            raise self._endpoint_not_found(method, path)
        handler, request_cls, response_cls = route[method]
        self._check_request(body, request_cls)
        answer = handler(args, user)
        if method == "DELETE" and not dbx:
            return 200, None, None  # the OSS server answers DELETE with an empty 200 body
        return 200, answer, response_cls

    # ------------------------------------------------------------------ grants (securable type FUNCTION)
    # Shapes of /api/2.1/unity-catalog/permissions and /effective-permissions: {"privilege_assignments":
    # [{"principal", "privileges": [...]}]}; PATCH takes {"changes": [{"principal", "add", "remove"}]} and applies
    # all of them or none.
    _MODEL_PRIVILEGES = ("ALL_PRIVILEGES", "APPLY_TAG", "EXECUTE", "MANAGE")

    def _grants_get(self, args, user):
        model = self._lookup_model(args.get("full_name"))
        return {"privilege_assignments": [
            {"principal": p, "privileges": sorted(privs)} for p, privs in sorted(model.grants.items())
            if privs and args.get("principal") in (None, p)]}

    def _grants_update(self, args, user):
        model = self._lookup_model(args.get("full_name"))
        changes = args.get("changes") or []
        for change in changes:
            principal = change.get("principal")
            if principal not in self._principals:
                raise UcError(404, "PRINCIPAL_DOES_NOT_EXIST", f"Could not find principal with name {principal}.")
            for privilege in (change.get("add") or []) + (change.get("remove") or []):
                if privilege not in self._MODEL_PRIVILEGES:
                    raise self.errors.invalid(f"Privilege {privilege} is not applicable to this entity "
                                              f"[{model.full_name}:FUNCTION]")  # (guess)
        for change in changes:
            held = model.grants.setdefault(change["principal"], set())
            held.update(change.get("add") or [])
            held.difference_update(change.get("remove") or [])
        return self._grants_get({"full_name": args["full_name"]}, user)

    def _grants_effective(self, args, user):
        model = self._lookup_model(args.get("full_name"))
        schema_name = f"{model.catalog}.{model.schema}"
        effective = {}
        for principal, privs in model.grants.items():
            effective.setdefault(principal, []).extend({"privilege": p} for p in sorted(privs))
        for principal, privs in self._schema_grants.get((model.catalog, model.schema), {}).items():
            effective.setdefault(principal, []).extend(
                {"privilege": p, "inherited_from_type": "SCHEMA", "inherited_from_name": schema_name}
                for p in sorted(privs))
        return {"privilege_assignments": [{"principal": p, "privileges": privs}
                                          for p, privs in sorted(effective.items())
                                          if privs and args.get("principal") in (None, p)]}

    # ------------------------------------------------------------------ lookups and rules
    def _split(self, full_name):
        if not isinstance(full_name, str) or not full_name:
            raise self.errors.bad_name(full_name)
        parts = full_name.split(".")
        if len(parts) != 3 or not all(parts):
            raise self.errors.bad_name(full_name)
        return parts

    def _validate_part(self, part):
        if self.flavor == "oss":
            if not part or len(part) > 255 or not _OSS_NAME.fullmatch(part):
                raise self.errors.bad_chars(part)
        elif not part or len(part) > 255 or _DBX_BAD_CHARS.search(part):
            raise self.errors.bad_chars(part)

    def _resolve_schema(self, catalog, schema):
        catalog_key, schema_key = self._key(catalog), self._key(schema)
        entry = self._catalogs.get(catalog_key)
        if entry is None:
            raise self.errors.no_catalog(catalog, schema)
        if schema_key not in entry["schemas"]:
            raise self.errors.no_schema(catalog, schema)
        return catalog_key, schema_key

    def _lookup_model(self, full_name):
        catalog, schema, name = self._split(full_name)
        catalog, schema = self._resolve_schema(catalog, schema)
        model = self._models.get((catalog, schema, self._key(name)))
        if model is None:
            raise self.errors.no_model(full_name)
        return model

    def _lookup_version(self, model, version):
        number = _as_int(version, self.errors, "version")
        v = model.versions.get(number)
        if v is None:
            raise self.errors.no_version(model.full_name, version)
        return v

    def _status(self, v):
        if v.status == PENDING and v.ready_at is not None and time.time() >= v.ready_at:
            v.status, v.ready_at = READY, None
        return v.status

    def _new_model(self, catalog, schema, name, user, description=None, tags=None,
                   deployment_job_id=None):
        for part in (catalog, schema, name):
            self._validate_part(part)
        catalog, schema = self._resolve_schema(catalog, schema)
        key = (catalog, schema, self._key(name))
        if key in self._models:
            raise self.errors.exists(f"{catalog}.{schema}.{key[2]}", key[2])
        model_id = str(uuid.uuid4())
        if self.flavor == "oss":
            entry = self._catalogs[catalog]
            location = (f"{self.storage_root}/{entry['id']}/{entry['schemas'][schema]}/models/"
                        f"{model_id}")
        else:
            location = f"{self.storage_root}/models/{model_id}"
        model = _Model(catalog, schema, key[2], location, _now_ms(), user)
        model.id = model_id
        model.description = description or None
        model.deployment_job_id = deployment_job_id or None
        for tag in tags or []:
            model.tags[tag["key"]] = tag.get("value", "")
        self._models[key] = model
        self._mkdir(location)
        return model

    def _new_version(self, model, user, args):
        if not args.get("source"):
            raise self.errors.invalid("Missing required field: source")
        number = model.max_version + 1
        version_id = str(uuid.uuid4())
        v = _Version(number, f"{model.storage_location}/versions/{version_id}", _now_ms(), user)
        v.id = version_id
        v.source = args.get("source")
        v.run_id = args.get("run_id") or None
        v.description = args.get("description") or args.get("comment") or None
        v.model_id = args.get("model_id") or None
        v.run_tracking_server_id = args.get("run_tracking_server_id") or None
        v.feature_deps = args.get("feature_deps") or None
        v.dependencies = args.get("model_version_dependencies") or None
        for tag in args.get("tags") or []:
            v.tags[tag["key"]] = tag.get("value", "")
        model.max_version = number
        model.versions[number] = v
        self._mkdir(v.storage_location)
        return v

    @staticmethod
    def _mkdir(location):
        parsed = urllib.parse.urlparse(location)
        if parsed.scheme == "file":
            os.makedirs(urllib.parse.unquote(parsed.path), exist_ok=True)

    def _finalize(self, model, v):
        if v.finalized or self._status(v) != PENDING:
            raise self.errors.not_pending(model.full_name, v.version)
        v.finalized = True
        v.updated = _now_ms()
        problem = self._signature_problem(v.storage_location) if self.check_signature else None
        if problem:
            v.status, v.status_message = FAILED, problem
        elif self.ready_delay and self.ready_delay > 0:
            v.ready_at = time.time() + self.ready_delay
        else:
            v.status = READY

    def _read_mlmodel(self, location):
        parsed = urllib.parse.urlparse(location)
        if parsed.scheme == "file":
            path = os.path.join(urllib.parse.unquote(parsed.path), "MLmodel")
            if not os.path.isfile(path):
                return None
            with open(path, encoding="utf-8") as f:
                return f.read()
        import boto3
        endpoint = self.s3_endpoint_url or os.environ.get("MLFLOW_S3_ENDPOINT_URL")
        if not endpoint:
            raise UcError(500, "INTERNAL_ERROR", "fake UC: set s3_endpoint_url or MLFLOW_S3_ENDPOINT_URL "
                                                 "so finalize can read MLmodel from s3 storage")
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
        key = parsed.path.lstrip("/") + "/MLmodel"
        try:
            return s3.get_object(Bucket=parsed.netloc, Key=key)["Body"].read().decode("utf-8")
        except s3.exceptions.NoSuchKey:
            return None

    def _signature_problem(self, location):
        import yaml
        text = self._read_mlmodel(location)
        if text is None:
            return MSG_NO_MLMODEL
        try:
            meta = yaml.safe_load(text) or {}
        except yaml.YAMLError:
            return MSG_NO_MLMODEL
        signature = meta.get("signature") if isinstance(meta, dict) else None
        if not signature or not signature.get("inputs"):
            return MSG_NO_SIGNATURE
        if not signature.get("outputs"):
            return MSG_INPUTS_ONLY
        return None

    def _credentials(self, model, v, write):
        status = self._status(v)
        name = f"{model.full_name}/{v.version}"
        if self.flavor == "oss" and v.storage_location.lower().startswith("file"):
            raise self.errors.invalid("Cannot request credentials on a model version with a file based "
                                      f"storage location: {name}")
        if status == FAILED:
            raise self.errors.invalid(f"Cannot request credentials on a model version that has failed "
                                      f"registration: {name}")
        if write and (status != PENDING or v.finalized):
            raise self.errors.invalid("Cannot request read/write credentials on a model version that "
                                      f"has not been finalized: {name}")
        answer = {"expiration_time": _now_ms() + 15 * 60 * 1000, "storage_mode": "CUSTOMER_HOSTED"}
        if v.storage_location.startswith("s3://"):
            answer["aws_temp_credentials"] = {"access_key_id": "testing", "secret_access_key": "testing",
                                              "session_token": "testing"}
        return answer

    def _page(self, items, key, args, descending=False):
        """Cursor pagination over ``items`` (already sorted by ``key``, ascending unless
        ``descending``); the token names the last item handed out, so inserts and deletes between
        pages neither repeat nor skip items."""
        max_results = args.get("max_results")
        size = DEFAULT_PAGE_SIZE if max_results in (None, "") else _as_int(max_results, self.errors,
                                                                           "max_results")
        if size < 0:
            raise self.errors.invalid("maxResults must be greater than or equal to 0")
        size = min(size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        token = args.get("page_token")
        if token:
            after = _decode_token(token, self.errors)
            items = [i for i in items if (key(i) < after if descending else key(i) > after)]
        page = items[:size]
        more = len(items) > size
        if self.flavor == "oss":  # the OSS server hands a token out whenever a page is full
            more = len(page) == size
        return page, (_encode_token(key(page[-1])) if more and page else None)

    def _all_models(self, args):
        models = list(self._models.values())
        catalog, schema = args.get("catalog_name") or None, args.get("schema_name") or None
        if self.flavor == "oss":
            if catalog and not schema:
                raise self.errors.invalid("Cannot specify catalog w/o schema for list registered models.")
            if schema and not catalog:
                raise self.errors.invalid("Cannot specify schema w/o catalog for list registered models.")
        if catalog:
            if schema:
                catalog, schema = self._resolve_schema(catalog, schema)
                models = [m for m in models if (m.catalog, m.schema) == (catalog, schema)]
            else:
                catalog = self._key(catalog)
                if catalog not in self._catalogs:
                    raise self.errors.no_catalog(catalog, schema)
                models = [m for m in models if m.catalog == catalog]
        if self.flavor == "oss":
            return sorted(models, key=lambda m: m.id), (lambda m: m.id)
        return sorted(models, key=lambda m: m.full_name), (lambda m: m.full_name)

    # ------------------------------------------------------------------ legacy /api/2.0 shapes
    @staticmethod
    def _drop_none(d):
        return {k: v for k, v in d.items() if v is not None and v != [] and v != ""}

    def _rm_legacy(self, m, full=True):
        answer = {"name": m.full_name, "creation_timestamp": m.created, "last_updated_timestamp": m.updated,
                  "user_id": m.created_by, "description": m.description,
                  "deployment_job_id": m.deployment_job_id}
        if full:
            answer["aliases"] = [{"alias": a, "version": str(n)} for a, n in sorted(m.aliases.items())]
            answer["tags"] = [{"key": k, "value": val} for k, val in m.tags.items()]
        return self._drop_none(answer)

    def _mv_legacy(self, m, v, full=True):
        answer = {"name": m.full_name, "version": str(v.version), "creation_timestamp": v.created,
                  "last_updated_timestamp": v.updated, "user_id": v.created_by,
                  "description": v.description, "source": v.source, "run_id": v.run_id,
                  "run_tracking_server_id": v.run_tracking_server_id, "status": self._status(v),
                  "status_message": v.status_message, "storage_location": v.storage_location,
                  "model_id": v.model_id}
        if full:
            answer["aliases"] = [{"alias": a, "version": str(n)}
                                 for a, n in sorted(m.aliases.items()) if n == v.version]
            answer["tags"] = [{"key": k, "value": val} for k, val in v.tags.items()]
        return self._drop_none(answer)

    def _rm_create(self, args, user):
        catalog, schema, name = self._split(args.get("name"))
        model = self._new_model(catalog, schema, name, user, args.get("description"), args.get("tags"),
                                args.get("deployment_job_id"))
        return {"registered_model": self._rm_legacy(model)}

    def _rm_get(self, args, user):
        return {"registered_model": self._rm_legacy(self._lookup_model(args.get("name")))}

    def _rename(self, model, new_name):
        if "." in new_name:
            catalog, schema, name = self._split(new_name)
            if (self._key(catalog), self._key(schema)) != (model.catalog, model.schema):
                raise self.errors.invalid("Renaming a model to another catalog or schema is not supported")
        else:
            name = new_name
        self._validate_part(name)
        new_key = (model.catalog, model.schema, self._key(name))
        if new_key in self._models and self._models[new_key] is not model:
            raise self.errors.exists(f"{model.catalog}.{model.schema}.{new_key[2]}", new_key[2])
        del self._models[(model.catalog, model.schema, model.name)]
        model.name = new_key[2]
        self._models[new_key] = model

    def _rm_update(self, args, user):
        model = self._lookup_model(args.get("name"))
        if args.get("new_name"):
            self._rename(model, args["new_name"])
        if "description" in args:
            model.description = args["description"] or None
        if args.get("deployment_job_id") is not None:
            model.deployment_job_id = args["deployment_job_id"] or None
        model.updated, model.updated_by = _now_ms(), user
        return {"registered_model": self._rm_legacy(model)}

    def _delete_model(self, model, force=True):
        if model.versions and not force:
            raise UcError(409, "ABORTED", "Unable to delete a registered model with existing model "
                                          f"versions: {model.name}")
        del self._models[(model.catalog, model.schema, model.name)]

    def _rm_delete(self, args, user):
        self._delete_model(self._lookup_model(args.get("name")))
        return {}

    def _rm_search(self, args, user):
        models, key = self._all_models({})
        page, token = self._page(models, key, args)
        answer = {"registered_models": [self._rm_legacy(m, full=False) for m in page]}
        if token:
            answer["next_page_token"] = token
        return answer

    def _rm_set_tag(self, args, user):
        model = self._lookup_model(args.get("name"))
        if not args.get("key"):
            raise self.errors.invalid("Missing required field: key")
        model.tags[args["key"]] = args.get("value", "")
        return {}

    def _rm_delete_tag(self, args, user):
        self._lookup_model(args.get("name")).tags.pop(args.get("key"), None)
        return {}

    def _alias_set(self, args, user):
        model = self._lookup_model(args.get("name"))
        v = self._lookup_version(model, args.get("version"))
        if not args.get("alias"):
            raise self.errors.invalid("Missing required field: alias")
        model.aliases[args["alias"]] = v.version
        return {}

    def _alias_target(self, args):
        model = self._lookup_model(args.get("name") or args.get("full_name"))
        alias = args.get("alias")
        if alias not in model.aliases:
            raise self.errors.no_alias(model.full_name, alias)
        return model, model.versions[model.aliases[alias]]

    def _alias_get(self, args, user):
        model, v = self._alias_target(args)
        return {"model_version": self._mv_legacy(model, v)}

    def _alias_delete(self, args, user):
        model = self._lookup_model(args.get("name"))
        if args.get("alias") not in model.aliases:
            raise self.errors.no_alias(model.full_name, args.get("alias"))
        del model.aliases[args["alias"]]
        return {}

    def _mv_create(self, args, user):
        model = self._lookup_model(args.get("name"))
        return {"model_version": self._mv_legacy(model, self._new_version(model, user, args))}

    def _mv_get(self, args, user):
        model = self._lookup_model(args.get("name"))
        return {"model_version": self._mv_legacy(model, self._lookup_version(model, args.get("version")))}

    def _mv_update(self, args, user):
        model = self._lookup_model(args.get("name"))
        v = self._lookup_version(model, args.get("version"))
        if "description" in args:
            v.description = args["description"] or None
        v.updated, v.updated_by = _now_ms(), user
        return {"model_version": self._mv_legacy(model, v)}

    def _delete_version(self, model, v):
        del model.versions[v.version]
        for alias in [a for a, n in model.aliases.items() if n == v.version]:
            del model.aliases[alias]

    def _mv_delete(self, args, user):
        model = self._lookup_model(args.get("name"))
        self._delete_version(model, self._lookup_version(model, args.get("version")))
        return {}

    def _mv_search(self, args, user):
        text = (args.get("filter") or "").strip()
        if not text:
            raise self.errors.invalid("Missing filter: please specify a filter parameter in the format "
                                      "`name = 'model_name'`.")
        match = re.match(r"^name\s*=\s*'([^']+)'$", text)
        if not match:
            raise self.errors.invalid(f"Unsupported filter query : `{text}`. Please specify your filter "
                                      "parameter in the format `name = 'model_name'`.")
        model = self._lookup_model(match.group(1))
        versions = sorted(model.versions.values(), key=lambda v: -v.version)
        page, token = self._page(versions, lambda v: v.version, args, descending=True)
        answer = {"model_versions": [self._mv_legacy(model, v, full=False) for v in page]}
        if token:
            answer["next_page_token"] = token
        return answer

    def _mv_finalize(self, args, user):
        model = self._lookup_model(args.get("name"))
        v = self._lookup_version(model, args.get("version"))
        self._finalize(model, v)
        return {"model_version": self._mv_legacy(model, v)}

    def _mv_credentials(self, args, user):
        model = self._lookup_model(args.get("name"))
        v = self._lookup_version(model, args.get("version"))
        operation = args.get("operation")
        if operation not in ("MODEL_VERSION_OPERATION_READ", "MODEL_VERSION_OPERATION_READ_WRITE"):
            raise self.errors.invalid(f"Unknown operation in the request: {operation}")
        return {"credentials": self._credentials(model, v, operation.endswith("READ_WRITE"))}

    def _mv_download_uri(self, args, user):
        model = self._lookup_model(args.get("name"))
        return {"artifact_uri": self._lookup_version(model, args.get("version")).storage_location}

    def _mv_set_tag(self, args, user):
        model = self._lookup_model(args.get("name"))
        v = self._lookup_version(model, args.get("version"))
        if not args.get("key"):
            raise self.errors.invalid("Missing required field: key")
        v.tags[args["key"]] = args.get("value", "")
        return {}

    def _mv_delete_tag(self, args, user):
        model = self._lookup_model(args.get("name"))
        self._lookup_version(model, args.get("version")).tags.pop(args.get("key"), None)
        return {}

    def _mv_emit_lineage(self, args, user):
        model = self._lookup_model(args.get("name"))
        self._lookup_version(model, args.get("version"))
        return {}

    # ------------------------------------------------------------------ /api/2.1 shapes
    def _alias_infos(self, m, version=None):
        return [{"alias_name": a, "version_num": n, "catalog_name": m.catalog, "schema_name": m.schema,
                 "model_name": m.name}
                for a, n in sorted(m.aliases.items()) if version is None or n == version]

    def _rm_uc(self, m, aliases=False):
        answer = {"name": m.name, "catalog_name": m.catalog, "schema_name": m.schema,
                  "full_name": m.full_name, "comment": m.description, "storage_location": m.storage_location,
                  "created_at": m.created, "created_by": m.created_by, "updated_at": m.updated,
                  "updated_by": m.updated_by, "id": m.id, "owner": m.created_by}
        if self.flavor == "databricks":
            answer["metastore_id"] = self.metastore_id
            answer["deployment_job_id"] = m.deployment_job_id
            answer["tags"] = [{"key": k, "value": val} for k, val in m.tags.items()]
            if aliases:
                answer["aliases"] = self._alias_infos(m)
        return self._drop_none(answer)

    def _mv_uc(self, m, v, aliases=False):
        answer = {"model_name": m.name, "catalog_name": m.catalog, "schema_name": m.schema,
                  "source": v.source, "comment": v.description, "run_id": v.run_id,
                  "status": self._status(v), "version": v.version, "storage_location": v.storage_location,
                  "created_at": v.created, "created_by": v.created_by, "updated_at": v.updated,
                  "updated_by": v.updated_by, "id": v.id}
        if self.flavor == "databricks":
            answer["metastore_id"] = self.metastore_id
            answer["model_id"] = v.model_id
            if v.run_tracking_server_id and str(v.run_tracking_server_id).isdigit():
                answer["run_workspace_id"] = int(v.run_tracking_server_id)
            answer["tags"] = [{"key": k, "value": val} for k, val in v.tags.items()]
            if aliases:
                answer["aliases"] = self._alias_infos(m, v.version)
        return self._drop_none(answer)

    def _uc_rm_create(self, args, user):
        for field in ("name", "catalog_name", "schema_name"):
            if not args.get(field):
                raise self.errors.invalid(f"Missing required field: {field}")
        model = self._new_model(args["catalog_name"], args["schema_name"], args["name"], user,
                                args.get("comment"), args.get("tags"), args.get("deployment_job_id"))
        return self._rm_uc(model)

    def _uc_rm_list(self, args, user):
        models, key = self._all_models(args)
        page, token = self._page(models, key, args)
        answer = {"registered_models": [self._rm_uc(m) for m in page]}
        if token:
            answer["next_page_token"] = token
        return answer

    def _uc_rm_get(self, args, user):
        return self._rm_uc(self._lookup_model(args["full_name"]), aliases=_truthy(args.get("include_aliases")))

    def _uc_rm_update(self, args, user):
        model = self._lookup_model(args["full_name"])
        if self.flavor == "oss" and args.get("new_name") is None and args.get("comment") is None:
            raise self.errors.invalid("No updated fields defined.")
        if args.get("new_name"):
            self._rename(model, args["new_name"])
        if args.get("comment") is not None:
            model.description = args["comment"] or None
        if args.get("deployment_job_id") is not None:
            model.deployment_job_id = args["deployment_job_id"] or None
        model.updated, model.updated_by = _now_ms(), user
        return self._rm_uc(model)

    def _uc_rm_delete(self, args, user):
        model = self._lookup_model(args["full_name"])
        self._delete_model(model, force=self.flavor == "databricks" or _truthy(args.get("force")))
        return {}

    def _uc_model_from_parts(self, args):
        for field in ("catalog_name", "schema_name", "model_name"):
            if not args.get(field):
                raise self.errors.invalid(f"Missing required field: {field}")
        return self._lookup_model(f"{args['catalog_name']}.{args['schema_name']}.{args['model_name']}")

    def _uc_mv_create(self, args, user):
        model = self._uc_model_from_parts(args)
        return self._mv_uc(model, self._new_version(model, user, args))

    def _uc_mv_list(self, args, user):
        model = self._lookup_model(args["full_name"])
        descending = self.flavor == "databricks"
        versions = sorted(model.versions.values(), key=lambda v: v.version, reverse=descending)
        page, token = self._page(versions, lambda v: v.version, args, descending=descending)
        answer = {"model_versions": [self._mv_uc(model, v) for v in page]}
        if token:
            answer["next_page_token"] = token
        return answer

    def _uc_mv_get(self, args, user):
        model = self._lookup_model(args["full_name"])
        return self._mv_uc(model, self._lookup_version(model, args["version"]),
                           aliases=_truthy(args.get("include_aliases")))

    def _uc_mv_update(self, args, user):
        model = self._lookup_model(args["full_name"])
        v = self._lookup_version(model, args["version"])
        if self.flavor == "oss" and args.get("comment") is None:
            raise self.errors.invalid("No updated fields defined.")
        if args.get("comment") is not None:
            v.description = args["comment"] or None
        v.updated, v.updated_by = _now_ms(), user
        return self._mv_uc(model, v)

    def _uc_mv_delete(self, args, user):
        model = self._lookup_model(args["full_name"])
        self._delete_version(model, self._lookup_version(model, args["version"]))
        return {}

    def _uc_mv_finalize(self, args, user):
        model = self._lookup_model(args["full_name"])
        v = self._lookup_version(model, args["version"])
        self._finalize(model, v)
        return self._mv_uc(model, v)

    def _uc_credentials(self, args, user):
        model = self._uc_model_from_parts(args)
        v = self._lookup_version(model, args.get("version"))
        operation = args.get("operation")
        if operation not in ("READ_MODEL_VERSION", "READ_WRITE_MODEL_VERSION"):
            raise self.errors.invalid(f"Unknown operation in the request: {operation}")
        return self._credentials(model, v, operation == "READ_WRITE_MODEL_VERSION")

    def _uc_alias_get(self, args, user):
        model, v = self._alias_target(args)
        return self._mv_uc(model, v, aliases=_truthy(args.get("include_aliases")))

    def _uc_alias_set(self, args, user):
        model = self._lookup_model(args["full_name"])
        v = self._lookup_version(model, args.get("version_num"))
        model.aliases[args["alias"]] = v.version
        return {"alias_name": args["alias"], "version_num": v.version}

    def _uc_alias_delete(self, args, user):
        model = self._lookup_model(args["full_name"])
        if args["alias"] not in model.aliases:
            raise self.errors.no_alias(model.full_name, args["alias"])
        del model.aliases[args["alias"]]
        return {}

    @staticmethod
    def _apply_tag_changes(tags, changes):
        for key in (changes or {}).get("remove") or []:
            tags.pop(key, None)
        for tag in (changes or {}).get("add_tags") or []:
            tags[tag["key"]] = tag.get("value", "")

    def _uc_rm_tags(self, args, user):
        self._apply_tag_changes(self._lookup_model(args["full_name"]).tags, args.get("changes"))
        return {}

    def _uc_mv_tags(self, args, user):
        model = self._lookup_model(args["full_name"])
        self._apply_tag_changes(self._lookup_version(model, args["version"]).tags, args.get("changes"))
        return {}

    # ------------------------------------------------------------------ standalone HTTP server
    @property
    def url(self):
        if self._server is None:
            raise RuntimeError("FakeUnityCatalog.serve() has not been called")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def serve(self):
        """Run as its own HTTP server on 127.0.0.1 (free port, no auth); returns self."""
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _answer(self):
                split = urllib.parse.urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = None
                if raw:
                    try:
                        body = json.loads(raw)
                    except ValueError:
                        self._send(400, {"error_code": "MALFORMED_REQUEST", "message": "Invalid JSON"})
                        return
                params = urllib.parse.parse_qs(split.query, keep_blank_values=True)
                result = fake.handle(self.command, split.path, params, body)
                if result is None:
                    result = (404, {"error_code": "ENDPOINT_NOT_FOUND",
                                    "message": f"No API found for '{self.command} {split.path}'"})
                    fake.requests.append((self.command, split.path, 404))
                self._send(*result)

            def _send(self, status, answer):
                data = b"" if answer is None else json.dumps(answer).encode()
                self.send_response(status)
                if answer is not None:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _answer

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-uc", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(5)
            self._server = self._thread = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
