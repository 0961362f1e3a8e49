import { Aws } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { RegistryJanitorConfigError } from './errors';
import { accountResource, acknowledgeWildcards } from './nag';

/** ECR repository names, plus the two IAM wildcards `*` and `?` (IAM cannot express other glob syntax). */
const REPOSITORY_PATTERN = /^[a-z0-9._/*?-]{1,256}$/;

/** What the scanner and deleter may read, as the scanner receives it (JSON in its environment). */
export type RepositorySelectionJson =
  | { readonly all: true }
  | { readonly names: readonly string[] }
  | { readonly tag: { readonly key: string; readonly value: string } };

/**
 * The ECR repositories (of the stack's account and region) a `RegistryJanitor` manages. The same
 * selection bounds the IAM permissions of the functions that read and delete, so that a bug in the
 * scanner's filtering can never reach a repository outside it.
 *
 * @example
 * new RegistryJanitor(this, 'Janitor', { repositories: RepositorySelection.named('web', 'build/*') });
 * new RegistryJanitor(this, 'Janitor', { repositories: RepositorySelection.tagged('janitor', 'managed') });
 */
export class RepositorySelection {
  /** Every repository of the account and region. */
  static all(): RepositorySelection {
    return new RepositorySelection({ all: true });
  }

  /**
   * Repositories by name or glob: `*` matches any run of characters (in IAM, `/` included; the
   * scanner's own matching is at least as strict), `?` one character.
   */
  static named(...namesOrGlobs: string[]): RepositorySelection {
    if (namesOrGlobs.length === 0) {
      throw new RegistryJanitorConfigError('RepositorySelection.named() needs at least one name or glob');
    }
    for (const name of namesOrGlobs) {
      if (!REPOSITORY_PATTERN.test(name)) {
        throw new RegistryJanitorConfigError(
          `'${name}' is not an ECR repository name or glob (lowercase letters, digits, . _ - / and the wildcards * and ?)`,
        );
      }
    }
    return new RepositorySelection({ names: [...new Set(namesOrGlobs)] });
  }

  /** Repositories carrying the resource tag `key=value` (checked by IAM with `aws:ResourceTag`). */
  static tagged(key: string, value: string): RepositorySelection {
    if (key.trim() === '' || key.includes('*') || value.includes('*')) {
      throw new RegistryJanitorConfigError(
        `a repository tag selection needs a key and a value without wildcards, got '${key}=${value}'`,
      );
    }
    return new RepositorySelection({ tag: { key, value } });
  }

  private constructor(private readonly selection: RepositorySelectionJson) {}

  /** The selection as JSON, for the scanner's environment. */
  toJson(): RepositorySelectionJson {
    return this.selection;
  }

  /**
   * Lets `grantee` list the repositories of the account and region (the scan's schedule), nothing
   * more: `ecr:DescribeRepositories` returns names and settings, never an image, and must cover
   * every repository because globs can only be resolved against the full list.
   */
  grantList(grantee: iam.IGrantable): iam.Grant {
    const grant = iam.Grant.addToPrincipal({
      grantee,
      // A tag selection is resolved by the scanner itself: it reads each repository's tags.
      actions:
        'tag' in this.selection
          ? ['ecr:DescribeRepositories', 'ecr:ListTagsForResource']
          : ['ecr:DescribeRepositories'],
      resourceArns: [repositoryArn('*')],
    });
    acknowledgeOn(grantee, [repositoryFinding('*')], LISTING_REASON);
    return grant;
  }

  /**
   * Lets `grantee` read the images of the selected repositories (the scan's worker, the deleter):
   * the two calls the ECR adapter lists with, `ecr:DescribeImages` and `ecr:BatchGetImage` (index
   * manifests). Which repositories there are is the schedule's business (`grantList`).
   */
  grantRead(grantee: iam.IGrantable): iam.Grant {
    return this.grantOnSelected(grantee, ['ecr:DescribeImages', 'ecr:BatchGetImage']);
  }

  /** Lets `grantee` delete images from the selected repositories, and nothing else (the deleter). */
  grantDelete(grantee: iam.IGrantable): iam.Grant {
    return this.grantOnSelected(grantee, ['ecr:BatchDeleteImage']);
  }

  private grantOnSelected(grantee: iam.IGrantable, actions: string[]): iam.Grant {
    const selection = this.selection;
    const what = actions.join(', ');
    if ('names' in selection) {
      acknowledgeOn(
        grantee,
        selection.names.filter((name) => name.includes('*')).map(repositoryFinding),
        `${what} only on the repositories the janitor was configured to manage, named by glob ` +
          `(${selection.names.join(', ')}): the glob is the configured boundary, in IAM as in the scanner.`,
      );
      return iam.Grant.addToPrincipal({ grantee, actions, resourceArns: selection.names.map(repositoryArn) });
    }
    acknowledgeOn(
      grantee,
      [repositoryFinding('*')],
      'tag' in selection
        ? `${what} only on repositories tagged ${selection.tag.key}=${selection.tag.value}, enforced by an ` +
            'aws:ResourceTag condition: a repository is managed by tagging it, so no ARN list can name them.'
        : `${what} on the repositories of this account and region: the janitor was configured to manage ` +
            'every repository (RepositorySelection.all()); use RepositorySelection.named() or tagged() to narrow it.',
    );
    const conditions =
      'tag' in selection
        ? { StringEquals: { [`aws:ResourceTag/${selection.tag.key}`]: selection.tag.value } }
        : undefined;
    return iam.Grant.addToPrincipal({
      grantee,
      actions,
      resourceArns: [repositoryArn('*')],
      ...(conditions ? { conditions } : {}),
    });
  }
}

const LISTING_REASON =
  'ecr:DescribeRepositories (and ecr:ListTagsForResource) return repository names, settings and tags, ' +
  'never an image; the repositories a selection manages (globs, tags) can only be found in the full list ' +
  'of this account and region. Reading and deleting images is granted separately, on the selection only.';

function repositoryFinding(name: string): string {
  return accountResource('ecr', `repository/${name}`);
}

/** Acknowledges the wildcard findings of a grant on the grantee (a role of this app). */
function acknowledgeOn(grantee: iam.IGrantable, findings: readonly string[], reason: string): void {
  const principal = grantee.grantPrincipal;
  if (findings.length > 0 && Construct.isConstruct(principal))
    acknowledgeWildcards(principal, findings, reason);
}

function repositoryArn(name: string): string {
  return `arn:${Aws.PARTITION}:ecr:${Aws.REGION}:${Aws.ACCOUNT_ID}:repository/${name}`;
}
