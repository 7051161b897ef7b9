"""The end of every command's --help: an example and the environment variables it reads. Kept in one table so
that the commands' modules stay as they are (click_options.opt_report appends it to the command's docstring).
Outside `common`, whose package imports MLflow: `mlflow-export-import --help` and `--version` must not."""
from mlflow_export_import.cli import COMMANDS

EXAMPLES = {
    "export-all": "MLFLOW_TRACKING_URI=http://localhost:5000 export-all --output-dir out",
    "import-all": "MLFLOW_TRACKING_URI=http://localhost:5001 import-all --input-dir out --dry-run",
    "export-models": "export-models --models 'team_*' --output-dir out/models --export-all-runs",
    "import-models": "import-models --input-dir out/models --model-rename-file models.csv",
    "export-run": "export-run --run-id 4b0ce88fd34e45fc8ca08876127299ce --output-dir out/run",
    "import-run": "import-run --input-dir out/run --experiment-name imported",
    "export-experiment": "export-experiment --experiment my_exp --output-dir out/exp --run-start-time 2026-01-01",
    "import-experiment": "import-experiment --input-dir out/exp --experiment-name my_experiment_copy",
    "export-experiments": "export-experiments --experiments all --output-dir out/exps",
    "import-experiments": "import-experiments --input-dir out/exps --experiment-rename-file renames.csv",
    "export-model": "export-model --model my_model --output-dir out/model --versions 1,3",
    "import-model": "import-model --model my_model --experiment-name my_model_runs --input-dir out/model",
    "export-model-version": "export-model-version --model my_model --version 3 --output-dir out/v3",
    "import-model-version": "import-model-version --model my_model --experiment-name runs --input-dir out/v3 "
                            "--create-model True",
    "copy-model-version": "copy-model-version --src-model my_model --src-version 3 --dst-model prod_model "
                          "--src-registry-uri http://localhost:5000 --dst-registry-uri http://localhost:5001 "
                          "--dst-experiment-name prod_runs",
    "copy-run": "copy-run --run-id 4b0ce88fd34e45fc8ca08876127299ce --experiment-name copied "
                "--src-mlflow-uri http://localhost:5000 --dst-mlflow-uri http://localhost:5001",
    "copy-experiments": "copy-experiments --experiments exp1,exp2 --src-mlflow-uri http://localhost:5000 "
                        "--dst-mlflow-uri http://localhost:5001",
    "copy-models": "copy-models --models 'fraud*' --src-mlflow-uri databricks://dev --dst-mlflow-uri "
                   "databricks://prod --dst-registry-uri databricks-uc://prod --model-rename-file models.csv",
    "copy-all": "copy-all --src-mlflow-uri http://localhost:5000 --dst-mlflow-uri http://localhost:5001 "
                "--export-deleted-runs",
    "sync": "mlflow-export-import sync --src-uri http://localhost:5000 --dst-uri http://localhost:5001 --delete",
    "export-logged-models": "export-logged-models --experiment-ids 1,2 --output-dir out/lm",
    "export-logged-model": "export-logged-model --model-id m-1d8a... --output-dir out/m",
    "import-logged-models": "import-logged-models --input-dir out/lm",
    "import-logged-model": "import-logged-model --input-dir out/m --experiment-name e",
    "export-traces": "export-traces --experiment-ids all --output-dir out/traces",
    "import-traces": "import-traces --input-dir out/traces",
    "export-trace": "export-trace --request-id tr-c1f7... --output-dir out/t",
    "import-trace": "import-trace --input-dir out/t --experiment-name e",
    "export-prompt": "export-prompt --prompt-name greet --prompt-version 2 --output-dir out/p",
    "import-prompt": "import-prompt --input-dir out/p",
    "export-prompts": "export-prompts --prompts all --output-dir out/prompts",
    "import-prompts": "import-prompts --input-dir out/prompts",
    "export-evaluation-dataset": "export-evaluation-dataset --dataset-name eval_ds --output-dir out/d",
    "import-evaluation-dataset": "import-evaluation-dataset --input-dir out/d",
    "export-evaluation-datasets": "export-evaluation-datasets --evaluation-datasets all --output-dir out/ds",
    "import-evaluation-datasets": "import-evaluation-datasets --input-dir out/ds",
    "get-model-signature": "get-model-signature --model-uri models:/my_model/1",
    "set-model-signature": "set-model-signature --model-uri runs:/4b0c.../model --input-file signature.json",
    "list-model-versions-without-signatures": "list-model-versions-without-signatures --output-file missing.csv",
    "download-notebook": "download-notebook --notebook /Users/me@example.com/train --output-dir out/nb",
    "verify": "mlflow-export-import verify --src-uri http://localhost:5000 --dst-uri http://localhost:5001",
}

# Which server the command's MLFLOW_TRACKING_URI names: a copy names both sides by options.
ROLE = {"export": "the source", "import": "the destination", "copy": "a side given without its URI option"}
COMMON_ENV = ("MLFLOW_TRACKING_USERNAME/MLFLOW_TRACKING_PASSWORD or MLFLOW_TRACKING_TOKEN (credentials), "
              "DATABRICKS_CONFIG_PROFILE/DATABRICKS_HOST/DATABRICKS_TOKEN (databricks:// URIs), "
              "MLFLOW_EXPORT_IMPORT_WORKERS, MLFLOW_EXPORT_IMPORT_LOG_OUTPUT_FILE, MLFLOW_EXPORT_IMPORT_LOG_FORMAT")


def command_name(module):
    """The console-script name of a command module ('mlflow_export_import.bulk.export_all' -> 'export-all')."""
    short = module.replace("mlflow_export_import.", "", 1)
    return next((name for name, mod in COMMANDS.items() if mod == short), None)


def footer(name):
    """Click-formatted paragraphs (\\b keeps the example's line as it is; the rest is wrapped)."""
    role = ROLE.get(name.split("-", 1)[0], "the server")
    env = f"MLFLOW_TRACKING_URI ({role}; MLflow's default ./mlflow.db when unset), MLFLOW_REGISTRY_URI (default: " \
          f"the tracking URI), {COMMON_ENV}"
    if name.startswith("import") or name.startswith("copy"):
        env += ", MLFLOW_EXPORT_IMPORT_STAGE_ALIASES (stages -> Unity Catalog aliases)"
    text = f"\n\nEnvironment: {env}."
    if name in EXAMPLES:
        text = f"\n\n\b\nExample:\n  {EXAMPLES[name]}" + text
    return text


# Commands whose --version is a model version number (the reference's interface): no version flag there.
VERSION_IS_AN_OPTION = ("export-model-version",)


def takes_version_flag(module):
    return command_name(module) not in VERSION_IS_AN_OPTION


def with_footer(doc, module):
    name = command_name(module)
    return doc if name is None else (doc or "").rstrip() + footer(name)
