# Entry points; each one sets up what it needs first (scripts/setup.sh).
.PHONY: lab test lab-up lab-deploy lab-demo lab-drill lab-kills lab-down bench bench-dataplane bench-control setup molecule sanity build docs

lab:            ## set up, start the lab, deploy site.yml, demo failover
	bash scripts/lab.sh all

test:           ## set up, run every gate and test (what CI runs)
	bash scripts/test.sh

setup:
	bash scripts/setup.sh

lab-up:
	bash scripts/lab.sh up
lab-deploy:
	bash scripts/lab.sh deploy
lab-demo:
	bash scripts/lab.sh demo
lab-drill:      ## failover drill on the running lab (report + PNG in .state/drill)
	bash scripts/lab.sh drill
lab-kills:      ## 10 hard kills of the MASTER container on the running lab
	bash scripts/lab.sh kills
lab-down:
	bash scripts/lab.sh down

bench:          ## strategies benchmark on the lab (about 15 minutes)
	bash scripts/lab.sh bench

bench-dataplane: ## data-plane benchmark on the lab (about 20 minutes)
	bash scripts/lab.sh dataplane

bench-control:  ## control-plane benchmark: recreates the lab, converges it and a wider one (about 10 minutes)
	bash scripts/lab.sh control

molecule:
	bash scripts/molecule.sh haproxy nginx allactive

sanity:
	bash scripts/sanity.sh

build:
	ansible-galaxy collection build --force --output-path .state/dist

docs:           ## regenerate the README's role option tables and docs/reference/
	.venv/bin/python scripts/role_docs.py
	bash scripts/docs.sh
