#!/bin/sh
# Build the image `sam local` runs python3.13 functions on, where no image registry is reachable:
# Debian trixie (its python3 is 3.13) with the AWS Lambda runtime interface client (awslambdaric, and
# boto3 as the Lambda runtime provides it), tagged as the image SAM looks for, so that
# `sam local ... --skip-pull-image` uses it. SAM adds its own emulator (aws-lambda-rie) and the layer on top.
#
#   sudo scripts/lambda_base_image.sh            # needs root (debootstrap), docker, and python3.13 with pip
#   IMAGE=... DEBIAN_MIRROR=... to override the defaults below.
set -eu

case "$(uname -m)" in
    x86_64|amd64) ARCH=x86_64 ;;
    aarch64|arm64) ARCH=arm64 ;;
    *) echo "no Lambda architecture for $(uname -m)" >&2; exit 2 ;;
esac
IMAGE="${IMAGE:-public.ecr.aws/lambda/python:3.13-$ARCH}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
command -v debootstrap >/dev/null || { echo "needs debootstrap (apt-get install debootstrap)" >&2; exit 2; }
python3.13 -m pip --version >/dev/null 2>&1 || { echo "needs python3.13 with pip on PATH" >&2; exit 2; }

ROOTFS="$(mktemp -d)"
trap 'rm -rf "$ROOTFS"' EXIT
debootstrap --variant=minbase --include=python3.13,ca-certificates trixie "$ROOTFS" "$MIRROR"
# Wheels for this machine and Python 3.13, installed where the Lambda runtime keeps its own packages.
python3.13 -m pip install --quiet --only-binary=:all: --target "$ROOTFS/var/runtime" awslambdaric boto3
cat > "$ROOTFS/var/runtime/bootstrap" <<'EOF'
#!/bin/sh
# What the Lambda python3.13 runtime does: the runtime interface client runs $_HANDLER from /var/task.
export PYTHONPATH="/var/task:/opt/python/lib/python3.13/site-packages:/opt/python:/var/runtime${PYTHONPATH:+:$PYTHONPATH}"
exec /usr/bin/python3.13 -m awslambdaric "$_HANDLER"
EOF
chmod 755 "$ROOTFS/var/runtime/bootstrap"
mkdir -p "$ROOTFS/var/task" "$ROOTFS/opt"
rm -rf "$ROOTFS/var/cache/apt/archives/"*.deb "$ROOTFS/usr/share/doc" "$ROOTFS/usr/share/man"
tar -C "$ROOTFS" -c . | docker import \
    -c 'WORKDIR /var/task' \
    -c 'ENV LANG=C.UTF-8 TZ=:/etc/localtime LAMBDA_TASK_ROOT=/var/task LAMBDA_RUNTIME_DIR=/var/runtime' \
    - "$IMAGE"
echo "built $IMAGE"
