#!/usr/bin/env bash
# The client environment for the local emulators.
#   localstack/env.sh              prints it as shell code:  eval "$(localstack/env.sh)"
#   source localstack/env.sh       exports it into the current shell
# Everything goes to LocalStack except CloudTrail, GuardDuty and Security Hub, which LocalStack's
# community edition does not serve (501): those go to moto. Credentials are dummies: LocalStack
# takes a 12-digit access key id as the account id (default key "test" = account 000000000000);
# set NC_EMU_ACCESS_KEY_ID=111111111111 for an isolated account. Config and credential files are
# pointed at /dev/null and AWS_PROFILE is unset, so nothing from ~/.aws leaks in.
# Honours NC_LOCALSTACK_PORT / NC_MOTO_PORT like the other scripts. The shipped specs' account
# variables get test values (NC_EMU_SECURITY_ACCOUNT_ID / NC_EMU_LOGS_ACCOUNT_ID override them).

_nc_emu_env() {
    local ls="http://127.0.0.1:${NC_LOCALSTACK_PORT:-4566}"
    local moto="http://127.0.0.1:${NC_MOTO_PORT:-4567}"
    local region="${NC_EMU_REGION:-us-east-1}"
    printf 'unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN AWS_SECURITY_TOKEN AWS_ROLE_ARN AWS_WEB_IDENTITY_TOKEN_FILE\n'
    printf 'export %s=%q\n' \
        AWS_ENDPOINT_URL "$ls" \
        AWS_ENDPOINT_URL_CLOUDTRAIL "$moto" \
        AWS_ENDPOINT_URL_GUARDDUTY "$moto" \
        AWS_ENDPOINT_URL_SECURITYHUB "$moto" \
        AWS_ENDPOINT_URL_BACKUP "$moto" \
        AWS_ACCESS_KEY_ID "${NC_EMU_ACCESS_KEY_ID:-test}" \
        AWS_SECRET_ACCESS_KEY test \
        AWS_REGION "$region" \
        AWS_DEFAULT_REGION "$region" \
        AWS_EC2_METADATA_DISABLED true \
        AWS_CONFIG_FILE /dev/null \
        AWS_SHARED_CREDENTIALS_FILE /dev/null \
        NC_PROVISION_EMULATOR 1 \
        NC_PROVISION_VAR_security_account_id "${NC_EMU_SECURITY_ACCOUNT_ID:-111111111111}" \
        NC_PROVISION_VAR_logs_account_id "${NC_EMU_LOGS_ACCOUNT_ID:-222222222222}"
}

if [[ "${BASH_SOURCE[0]}" != "$0" ]]; then
    # Sourced: no `set -e` here, it would stay on in the caller's shell.
    eval "$(_nc_emu_env)"
    unset -f _nc_emu_env
else
    set -euo pipefail
    _nc_emu_env
fi
