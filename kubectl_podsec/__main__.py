from kubectl_podsec.cli import run

run()
