"""Local and DBFS paths (reference API). On a Databricks cluster DBFS is mounted at /dbfs, so a `dbfs:/x` path is
read and written as the local file /dbfs/x; both file systems below therefore work through the local one."""
import os
import shutil

DBFS_SCHEME = "dbfs:"
DBFS_MOUNT = "/dbfs"


def mk_dbfs_path(path):
    """/dbfs/x -> dbfs:/x (other paths unchanged)."""
    if path == DBFS_MOUNT:
        return DBFS_SCHEME + "/"
    if path.startswith(DBFS_MOUNT + "/"):
        return DBFS_SCHEME + path[len(DBFS_MOUNT):]
    return path


def mk_local_path(path):
    """dbfs:/x -> /dbfs/x (other paths unchanged)."""
    if path.startswith(DBFS_SCHEME):
        return DBFS_MOUNT + "/" + path[len(DBFS_SCHEME):].lstrip("/")
    return path


def exists(path):
    """Whether the file or folder exists (dbfs: paths through the /dbfs mount). The reference returns None."""
    return os.path.exists(mk_local_path(path))


class LocalFileSystem:
    def _path(self, path):
        return path

    def mkdirs(self, path):
        os.makedirs(self._path(path), exist_ok=True)

    def cp(self, src, dst, recursive=False):
        src, dst = self._path(src), self._path(dst)
        if os.path.isdir(src):
            if not recursive:
                raise IsADirectoryError(f"'{src}' is a folder: copy it with recursive=True")
            shutil.copytree(src, dst, dirs_exist_ok=True)
        else:
            os.makedirs(os.path.dirname(os.path.abspath(dst)), exist_ok=True)
            shutil.copy2(src, dst)

    def rm(self, path, recurse=False):
        path = self._path(path)
        if os.path.isdir(path):
            if not recurse:
                os.rmdir(path)  # only an empty folder without recurse, as dbutils.fs.rm does
            else:
                shutil.rmtree(path)
        elif os.path.exists(path):
            os.remove(path)

    def write(self, path, content):
        path = self._path(path)
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        mode = "wb" if isinstance(content, bytes) else "w"
        with open(path, mode) as f:
            f.write(content)

    def ls(self, path):
        return sorted(os.listdir(self._path(path)))


class DatabricksFileSystem(LocalFileSystem):
    """dbfs:/ paths, through the cluster's /dbfs mount."""

    def _path(self, path):
        return mk_local_path(path)


def get_filesystem(dir):
    return DatabricksFileSystem() if str(dir).startswith(DBFS_SCHEME) else LocalFileSystem()
