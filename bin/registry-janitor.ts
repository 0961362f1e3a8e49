#!/usr/bin/env node
// The CDK app: `npx cdk deploy -c notifyEmail=ops@example.com [-c repositories=web,build/*] [-c clusters=prod-eu]`.
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { janitorPropsFromContext, RegistryJanitorStack } from '../lib/registry-janitor-stack';

const app = new App();
new RegistryJanitorStack(app, 'RegistryJanitor', {
  description: 'registry-janitor: deletes container images nobody runs any more, and only those',
  janitor: janitorPropsFromContext(app.node),
});
// cdk-nag's AwsSolutions pack runs at every synth; an unacknowledged finding stops it.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
