CREATE TABLE "pool_agents" (
	"id" text PRIMARY KEY NOT NULL,
	"pool_id" text NOT NULL,
	"org_id" text NOT NULL,
	"name" text NOT NULL,
	"profiles" text[] NOT NULL,
	"fingerprint" jsonb NOT NULL,
	"registered_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_seen_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "pool_tasks" (
	"id" text PRIMARY KEY NOT NULL,
	"org_id" text NOT NULL,
	"pool_id" text NOT NULL,
	"job_id" text NOT NULL,
	"device" text NOT NULL,
	"kind" text NOT NULL,
	"input" jsonb NOT NULL,
	"task_token" text NOT NULL,
	"activity_key" text NOT NULL,
	"attempt" integer NOT NULL,
	"state" text NOT NULL,
	"agent_id" text,
	"error" text,
	"result" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"claimed_at" timestamp with time zone,
	"heartbeat_at" timestamp with time zone,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
DROP INDEX "model_variants_key";--> statement-breakpoint
ALTER TABLE "pools" ALTER COLUMN "fingerprint" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "jobs" ADD COLUMN "target_pools" text[] DEFAULT '{}'::text[] NOT NULL;--> statement-breakpoint
ALTER TABLE "model_variants" ADD COLUMN "pool" text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE "pools" ADD COLUMN "org_id" text;--> statement-breakpoint
ALTER TABLE "pools" ADD COLUMN "name" text;--> statement-breakpoint
ALTER TABLE "pools" ADD COLUMN "token_hash" text;--> statement-breakpoint
ALTER TABLE "pools" ADD COLUMN "token_prefix" text;--> statement-breakpoint
ALTER TABLE "pools" ADD COLUMN "created_by" text;--> statement-breakpoint
ALTER TABLE "pool_agents" ADD CONSTRAINT "pool_agents_pool_id_pools_id_fk" FOREIGN KEY ("pool_id") REFERENCES "public"."pools"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "pool_agents" ADD CONSTRAINT "pool_agents_org_id_orgs_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."orgs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "pool_tasks" ADD CONSTRAINT "pool_tasks_org_id_orgs_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."orgs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "pool_tasks" ADD CONSTRAINT "pool_tasks_pool_id_pools_id_fk" FOREIGN KEY ("pool_id") REFERENCES "public"."pools"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "pool_tasks" ADD CONSTRAINT "pool_tasks_job_id_jobs_id_fk" FOREIGN KEY ("job_id") REFERENCES "public"."jobs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "pool_tasks" ADD CONSTRAINT "pool_tasks_agent_id_pool_agents_id_fk" FOREIGN KEY ("agent_id") REFERENCES "public"."pool_agents"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "pool_agents_pool_name" ON "pool_agents" USING btree ("pool_id","name");--> statement-breakpoint
CREATE INDEX "pool_tasks_queue" ON "pool_tasks" USING btree ("pool_id","state","created_at");--> statement-breakpoint
CREATE INDEX "pool_tasks_activity" ON "pool_tasks" USING btree ("activity_key");--> statement-breakpoint
ALTER TABLE "pools" ADD CONSTRAINT "pools_org_id_orgs_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."orgs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "pools" ADD CONSTRAINT "pools_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "pools_token_hash" ON "pools" USING btree ("token_hash");--> statement-breakpoint
CREATE UNIQUE INDEX "pools_org_name" ON "pools" USING btree ("org_id","name");--> statement-breakpoint
CREATE INDEX "pools_org" ON "pools" USING btree ("org_id");--> statement-breakpoint
CREATE UNIQUE INDEX "model_variants_key" ON "model_variants" USING btree ("version_id","device","pool","quantization");