import { Aws } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { RegistryJanitorConfigError } from './errors';

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
   * Lets `grantee` list repositories and read the images of the selected ones (the scanner).
   * `ecr:DescribeRepositories` and `ecr:ListTagsForResource` cover every repository: globs and tags
   * can only be resolved against the full list, and both return metadata only.
   */
  grantRead(grantee: iam.IGrantable): iam.Grant {
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['ecr:DescribeRepositories', 'ecr:ListTagsForResource'],
      resourceArns: [repositoryArn('*')],
    });
    return this.grantOnSelected(grantee, ['ecr:DescribeImages', 'ecr:BatchGetImage', 'ecr:ListImages']);
  }

  /** Lets `grantee` delete images from the selected repositories, and nothing else (the deleter). */
  grantDelete(grantee: iam.IGrantable): iam.Grant {
    return this.grantOnSelected(grantee, ['ecr:BatchDeleteImage']);
  }

  private grantOnSelected(grantee: iam.IGrantable, actions: string[]): iam.Grant {
    const selection = this.selection;
    if ('names' in selection) {
      return iam.Grant.addToPrincipal({ grantee, actions, resourceArns: selection.names.map(repositoryArn) });
    }
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

function repositoryArn(name: string): string {
  return `arn:${Aws.PARTITION}:ecr:${Aws.REGION}:${Aws.ACCOUNT_ID}:repository/${name}`;
}
