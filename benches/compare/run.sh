#!/usr/bin/env bash
# wmf vs implicit 0.7.3 (and with --spark vs Spark MLlib ALS), side by side on
# this machine (see README.md here).
#   benches/compare/run.sh [compare.py options]      e.g. --quick, --sizes 50k,ml20m, --spark
# Builds wmf (release), creates benches/compare/.venv with implicit==0.7.3 and
# threadpoolctl when missing (and pyspark with --spark / --only spark: needs
# Java 17+ on PATH), then runs compare.py. Results: benches/compare/out/.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
if ! command -v cc >/dev/null || ! [ -e /usr/lib/x86_64-linux-gnu/libopenblas.so ] && ! ldconfig -p | grep libopenblas >/dev/null; then
    echo "installing build dependencies (libopenblas-dev)" >&2
    apt-get update -qq && apt-get install -y -qq libopenblas-dev build-essential python3-venv time
fi
if ! [ -x /usr/bin/time ]; then apt-get update -qq && apt-get install -y -qq time; fi
cargo build --release -q -p wmf-host
venv="$here/.venv"
if ! [ -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import implicit, threadpoolctl; assert implicit.__version__ == "0.7.3"' 2>/dev/null; then
    if ! python3 -m venv "$venv" 2>/dev/null; then
        apt-get update -qq && apt-get install -y -qq python3-venv
        python3 -m venv "$venv"
    fi
    "$venv/bin/pip" install -q --upgrade pip
    "$venv/bin/pip" install -q "implicit==0.7.3" threadpoolctl
fi
case " $* " in
*" --spark "* | *" --only spark "* | *" --only=spark "*)
    if ! command -v java >/dev/null; then
        echo "--spark needs a Java runtime (17 or later) on PATH, e.g. apt-get install openjdk-17-jre-headless" >&2
        exit 1
    fi
    if ! "$venv/bin/python" -c 'import pyspark; assert pyspark.__version__ == "4.3.0"' 2>/dev/null; then
        "$venv/bin/pip" install -q "pyspark==4.3.0"
    fi
    ;;
esac
exec "$venv/bin/python" "$here/compare.py" --wmf "$root/target/release/wmf" "$@"
